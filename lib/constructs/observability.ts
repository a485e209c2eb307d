import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITable, Operation } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { isEmailAddress } from '../../functions/domain/email-address.ts';
import { functionDimension, METRIC, METRICS_NAMESPACE } from '../../functions/metric-names.ts';
import { throwIfInvalid } from './validation.ts';

/** SES's own reputation thresholds: above these, SES reviews and may pause the account's sending. */
export const NOTICE_RATE_THRESHOLDS = { bouncePercent: 5, complaintPercent: 0.1 } as const;

/**
 * The alarm addresses CDK context gives besides the SRE lead's: a list, its JSON text (`-c`), or a
 * comma-separated string. Anything else is returned as it is, for the construct to name.
 */
export function alarmAddressesFromContext(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = value.split(',').map((a) => a.trim());
    }
  }
  return Array.isArray(parsed) ? parsed.map(String) : [String(parsed)];
}

/** Properties of {@link CasebookObservability}. */
export interface CasebookObservabilityProps {
  /** The key the alarm topic is encrypted with; CloudWatch is allowed to publish through it here. */
  readonly topicKey: IKey;
  /** Who is told when an alarm goes off: the SRE lead first, then anyone configured besides. */
  readonly alarmAddresses: readonly string[];
  /** The ingest function, whose errors alarm. */
  readonly ingestFunction: IFunction;
  /** The lifecycle's own alarms (failed, throttled, aborted, timed-out executions). */
  readonly workflowAlarms: readonly Alarm[];
  /** Tables whose throttled requests alarm, by the name the alarm carries. */
  readonly tables: Readonly<Record<string, ITable>>;
  /** How often the ledger is anchored; the anchor alarms when no run ended well for twice that. */
  readonly anchorIntervalMinutes: number;
}

/**
 * What Casebook shows and who it wakes: a dashboard of its metrics (namespace `Casebook`), and
 * alarms that e-mail the SRE lead and the configured addresses through one SNS topic.
 */
export class CasebookObservability extends Construct {
  /** The topic every alarm notifies. */
  public readonly alarmTopic: Topic;
  /** Every alarm that notifies the topic, the lifecycle's included. */
  public readonly alarms: readonly Alarm[];
  /** The CloudWatch dashboard. */
  public readonly dashboard: Dashboard;

  public constructor(scope: Construct, id: string, props: CasebookObservabilityProps) {
    super(scope, id);
    const problems = props.alarmAddresses
      .filter((address) => !isEmailAddress(address))
      .map((address) => `alarm address ${JSON.stringify(address)} is not an e-mail address`);
    if (props.alarmAddresses.length === 0) problems.push('alarms need at least one address to reach');
    throwIfInvalid(this, problems);

    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: a key of our own, granted to it.
    props.topicKey.grant(
      new ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'Casebook alarms',
      masterKey: props.topicKey,
      enforceSSL: true,
    });
    for (const address of new Set(props.alarmAddresses)) {
      this.alarmTopic.addSubscription(new EmailSubscription(address));
    }

    const casebook = (metricName: string, statistic: string, period: Duration, dimensions = {}) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic,
        period,
        dimensionsMap: dimensions,
      });
    const fiveMinutes = Duration.minutes(5);
    const day = Duration.days(1);
    const alarm = (alarmId: string, options: AlarmOptions) =>
      new Alarm(this, alarmId, {
        alarmDescription: `Casebook: ${options.what}`,
        metric: options.metric,
        threshold: options.threshold,
        evaluationPeriods: 1,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });

    const anchorWindow = Duration.minutes(2 * props.anchorIntervalMinutes);
    const rate = (numerator: string, label: string) =>
      new MathExpression({
        label,
        // No notices sent that day: no rate, not a breach.
        expression: `100 * FILL(n, 0) / sent`,
        usingMetrics: {
          n: casebook(numerator, 'Sum', day),
          sent: casebook(METRIC.noticesSent, 'Sum', day),
        },
        period: day,
      });
    const own = [
      alarm('IngestErrorsAlarm', {
        what: 'the ingest function failed (an error, or a 5xx answer to an alert source)',
        metric: new MathExpression({
          label: 'Ingest errors',
          expression: 'FILL(lambda, 0) + FILL(answered, 0)',
          usingMetrics: {
            lambda: props.ingestFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
            answered: casebook(METRIC.functionErrors, 'Sum', fiveMinutes, {
              function: functionDimension(FUNCTIONS.ingestAlert.name),
            }),
          },
          period: fiveMinutes,
        }),
        threshold: 1,
      }),
      alarm('EffectQuestionsOverdueAlarm', {
        what: 'a question about an effect is unanswered past its deadline',
        metric: casebook(METRIC.questionsOverdue, 'Maximum', Duration.hours(1)),
        threshold: 1,
      }),
      alarm('AnchorStaleAlarm', {
        what: `no anchor run ended well for twice the anchor interval (${anchorWindow.toMinutes()} minutes): the newest anchor is older than that`,
        metric: casebook(METRIC.anchorRuns, 'Sum', anchorWindow),
        threshold: 1,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        missing: TreatMissingData.BREACHING,
      }),
      alarm('NoticeBounceRateAlarm', {
        what: `more than ${NOTICE_RATE_THRESHOLDS.bouncePercent} % of the customer notices sent in a day bounced (SES's own review threshold)`,
        metric: rate(METRIC.noticesBounced, 'Bounce rate (%)'),
        threshold: NOTICE_RATE_THRESHOLDS.bouncePercent,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      alarm('NoticeComplaintRateAlarm', {
        what: `more than ${NOTICE_RATE_THRESHOLDS.complaintPercent} % of the customer notices sent in a day drew a complaint (SES's own review threshold)`,
        metric: rate(METRIC.noticesComplained, 'Complaint rate (%)'),
        threshold: NOTICE_RATE_THRESHOLDS.complaintPercent,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      ...Object.entries(props.tables).map(([name, table]) =>
        alarm(`${name}TableThrottledAlarm`, {
          what: `DynamoDB throttled requests to the ${name} table`,
          metric: table.metricThrottledRequestsForOperations({
            operations: THROTTLE_OPERATIONS,
            period: fiveMinutes,
          }),
          threshold: 1,
        }),
      ),
    ];
    this.alarms = [...props.workflowAlarms, ...own];
    const notify = new SnsAction(this.alarmTopic);
    for (const each of this.alarms) each.addAlarmAction(notify);

    const search = (dimensions: string, metricName: string, statistic: string, label: string) =>
      new MathExpression({
        label,
        expression: `SEARCH('{${METRICS_NAMESPACE},${dimensions}} MetricName="${metricName}"', '${statistic}', 300)`,
        usingMetrics: {},
        period: fiveMinutes,
      });
    const graph = (title: string, metrics: IMetric[], width = 8) =>
      new GraphWidget({ title, left: metrics, width, height: 6 });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new TextWidget({
            markdown: `# Casebook\nMetrics in the \`${METRICS_NAMESPACE}\` namespace; each alarm e-mails the alarm topic.`,
            width: 24,
            height: 2,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 24, height: 4 })],
        [
          graph('Incidents opened, by source, world and severity', [
            search('source,severity,world', METRIC.incidentsOpened, 'Sum', 'opened'),
          ]),
          graph('Signals folded into open incidents, by source', [
            search('source', METRIC.signalsFolded, 'Sum', 'folded'),
          ]),
          graph('Time to acknowledge (s)', [
            casebook(METRIC.timeToAcknowledge, 'Average', fiveMinutes),
            casebook(METRIC.timeToAcknowledge, 'p90', fiveMinutes),
            search('severity', METRIC.timeToAcknowledge, 'Average', 'by severity'),
          ]),
        ],
        [
          graph('Approval latency per role (s)', [
            search('role', METRIC.approvalLatency, 'Average', 'average'),
            search('role', METRIC.approvalLatency, 'Maximum', 'slowest'),
          ]),
          graph('Effects, by kind and state', [search('kind,state', METRIC.effects, 'Sum', 'effects')]),
          graph('Act duration (ms)', [
            casebook(METRIC.actDuration, 'Average', fiveMinutes),
            casebook(METRIC.actDuration, 'p90', fiveMinutes),
            casebook(METRIC.actDuration, 'Maximum', fiveMinutes),
          ]),
        ],
        [
          graph('Customer notices: sent, delivered, bounced, complained', [
            casebook(METRIC.noticesSent, 'Sum', Duration.hours(1)),
            casebook(METRIC.noticesDelivered, 'Sum', Duration.hours(1)),
            casebook(METRIC.noticesBounced, 'Sum', Duration.hours(1)),
            casebook(METRIC.noticesComplained, 'Sum', Duration.hours(1)),
          ]),
          graph('Questions about effects: open, past their deadline', [
            casebook(METRIC.questionsOpen, 'Maximum', fiveMinutes),
            casebook(METRIC.questionsOverdue, 'Maximum', fiveMinutes),
          ]),
          graph('Anchor age (s)', [
            casebook(METRIC.anchorAge, 'Maximum', fiveMinutes),
            casebook(METRIC.anchorRuns, 'Sum', fiveMinutes),
          ]),
        ],
        [
          graph(
            'Function errors (thrown, or answered 5xx), by function',
            [search('function', METRIC.functionErrors, 'Sum', 'errors')],
            24,
          ),
        ],
      ],
    });
  }
}

/** The operations Casebook's functions send; a throttled one of these is a throttled Casebook. */
const THROTTLE_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.QUERY,
  Operation.BATCH_WRITE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
];

interface AlarmOptions {
  readonly what: string;
  readonly metric: IMetric;
  readonly threshold: number;
  /** @default ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparison?: ComparisonOperator;
  /** @default TreatMissingData.NOT_BREACHING */
  readonly missing?: TreatMissingData;
}
