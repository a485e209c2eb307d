import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../functions/metric-names.ts';
import { CONTEXT_KEYS } from '../../lib/settings.ts';
import { buildCasebookApp, CDK_JSON_CONTEXT, synthCasebookApp } from './casebook-app.ts';

const { stateless, statelessTemplate: template } = synthCasebookApp();
const SRE_LEAD = CDK_JSON_CONTEXT[CONTEXT_KEYS.sreLead] as string;
const INTERVAL = CDK_JSON_CONTEXT[CONTEXT_KEYS.anchorIntervalMinutes] as number;

/** The logical id of the one resource of `type` whose properties match `props`. */
function logicalId(t: Template, type: string, props: Record<string, unknown>): string {
  const found = Object.keys(t.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0] as string;
}

const topicId = logicalId(template, 'AWS::SNS::Topic', { DisplayName: 'Casebook alarms' });

/** The alarm whose description starts with `Casebook: <what>`. */
function alarmAbout(what: string): Record<string, unknown> {
  const alarms = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmDescription: Match.stringLikeRegexp(`^Casebook: ${what}`) },
    }),
  );
  expect(alarms, `an alarm about ${what}`).toHaveLength(1);
  return (alarms[0] as { Properties: Record<string, unknown> }).Properties;
}

/** The metrics an alarm reads, its own or its expression's, with their namespaces. */
function metricsOf(props: Record<string, unknown>): { namespace: unknown; name: unknown; period: unknown }[] {
  if (props.MetricName) return [{ namespace: props.Namespace, name: props.MetricName, period: props.Period }];
  return (props.Metrics as { MetricStat?: { Metric: Record<string, unknown>; Period: unknown } }[])
    .filter((m) => m.MetricStat)
    .map((m) => ({
      namespace: m.MetricStat?.Metric.Namespace,
      name: m.MetricStat?.Metric.MetricName,
      period: m.MetricStat?.Period,
    }));
}

describe('the alarm topic', () => {
  it('is encrypted with a key CloudWatch may use, refuses plain HTTP, and e-mails the SRE lead', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Casebook alarms',
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: Match.arrayWith(['cloudwatch.amazonaws.com']) },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'))
      .map((r) => r.Properties as { Protocol: string; Endpoint: string; TopicArn: unknown })
      .filter((s) => JSON.stringify(s.TopicArn) === JSON.stringify({ Ref: topicId }));
    expect(subscriptions).toEqual([{ Protocol: 'email', Endpoint: SRE_LEAD, TopicArn: { Ref: topicId } }]);
  });

  it('also e-mails the configured addresses, each once', () => {
    const { stateless: other } = buildCasebookApp({
      [CONTEXT_KEYS.alarmAddresses]: `["platform@example.com", "${SRE_LEAD}"]`,
    });
    const t = Template.fromStack(other);
    const endpoints = Object.values(t.findResources('AWS::SNS::Subscription'))
      .map((r) => r.Properties as { Protocol: string; Endpoint: string })
      .filter((s) => s.Protocol === 'email')
      .map((s) => s.Endpoint);
    expect(endpoints.sort()).toEqual(['platform@example.com', SRE_LEAD].sort());
  });

  it('refuses an alarm address that is not one, naming it', () => {
    expect(() =>
      buildCasebookApp({ [CONTEXT_KEYS.alarmAddresses]: 'ops@example.com,not-an-address' }),
    ).toThrow(/"not-an-address" is not an e-mail address/);
  });
});

describe('the alarms', () => {
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));

  it('every one notifies the topic, the lifecycle state machine’s four among them', () => {
    expect(alarms.length).toBe(4 + 7);
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
    }
    for (const what of [
      'an execution failed',
      'an execution was throttled',
      'an execution was aborted',
      'an execution timed out',
    ]) {
      expect(
        alarms.filter(([, a]) => String(a.Properties.AlarmDescription).includes(what)),
        what,
      ).toHaveLength(1);
    }
  });

  it('on ingest errors: a thrown error or a 5xx answer, any in five minutes', () => {
    const props = alarmAbout('the ingest function failed');
    expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(metricsOf(props)).toEqual([
      { namespace: 'AWS/Lambda', name: 'Errors', period: 300 },
      { namespace: METRICS_NAMESPACE, name: METRIC.functionErrors, period: 300 },
    ]);
  });

  it('on a question about an effect past its deadline', () => {
    const props = alarmAbout('a question about an effect is unanswered past its deadline');
    expect(props).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.questionsOverdue,
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('on the anchor older than twice its interval: no good run in that window, missing data a breach', () => {
    const props = alarmAbout('no anchor run ended well for twice the anchor interval');
    expect(props).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.anchorRuns,
      Period: 2 * INTERVAL * 60,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it("on a day's bounce rate above 5 % and complaint rate above 0.1 % of the notices sent", () => {
    for (const [what, metric, threshold] of [
      ['more than 5 % of the customer notices sent in a day bounced', METRIC.noticesBounced, 5],
      [
        'more than 0.1 % of the customer notices sent in a day drew a complaint',
        METRIC.noticesComplained,
        0.1,
      ],
    ] as const) {
      const props = alarmAbout(what);
      expect(props).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanThreshold' });
      expect(metricsOf(props)).toEqual([
        { namespace: METRICS_NAMESPACE, name: metric, period: 86_400 },
        { namespace: METRICS_NAMESPACE, name: METRIC.noticesSent, period: 86_400 },
      ]);
      const expression = (props.Metrics as { Expression?: string }[]).find((m) => m.Expression);
      expect(expression?.Expression).toMatch(/^100 \* FILL\(n, 0\) \/ sent$/);
    }
  });

  it('on DynamoDB throttling of either table', () => {
    for (const table of ['Operations', 'Ledger']) {
      const props = alarmAbout(`DynamoDB throttled requests to the ${table} table`);
      expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      const read = metricsOf(props);
      expect(read.length).toBeGreaterThan(0);
      expect(read.every((m) => m.namespace === 'AWS/DynamoDB' && m.name === 'ThrottledRequests')).toBe(true);
    }
  });
});

describe('the dashboard', () => {
  it('is one, shows every Casebook metric from its namespace, and names it as an output', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(stateless.resolve(dashboard?.Properties.DashboardBody));
    expect(body).toContain(METRICS_NAMESPACE);
    for (const name of Object.values(METRIC)) expect(body, name).toContain(name);
    template.hasOutput('DashboardName', {});
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });
});
