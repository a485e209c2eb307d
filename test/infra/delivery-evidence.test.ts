/**
 * Delivery evidence as deployed: the configuration set and its event destination for the five
 * events, through SNS to SQS to the ses-events function (batches of 10, bounded concurrency,
 * partial batch failures), the sender's identity with Easy DKIM and its records as outputs, and
 * Act sending under the configuration set.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/env-names.ts';
import { EVENT_BATCH_SIZE, EVENT_CONCURRENCY } from '../../lib/constructs/delivery-evidence.ts';
import { synthCasebookApp } from './casebook-app.ts';
import { statementsOf } from './iam.ts';

const { stateless, statelessTemplate: template } = synthCasebookApp();
const fn = (key: 'carryOutEffects' | 'sesEvents' | 'effectQuestionsPage') =>
  (stateless.resolve(stateless.functions[key].functionArn) as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];

describe('delivery evidence on AWS', () => {
  it('publishes Delivery, Bounce, Complaint, Reject and DeliveryDelay of the configuration set to the topic', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['delivery', 'bounce', 'complaint', 'reject', 'deliveryDelay'],
        SnsDestination: { TopicARN: { Ref: Match.stringLikeRegexp('^DeliveryEvidenceEvents') } },
      },
    });
  });

  it('hands the topic to a queue and the queue to ses-events, ten at a time, two batches at once', () => {
    expect(EVENT_BATCH_SIZE).toBe(10);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: { Ref: Match.stringLikeRegexp('^DeliveryEvidenceEvents') },
      Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryEvidenceEventsQueue'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: EVENT_CONCURRENCY },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FunctionName: { Ref: fn('sesEvents') },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryEvidenceEventsQueue'), 'Arn'] },
    });
    // A batch is not handed out twice while the function works it; an event that keeps failing is set aside.
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      RedrivePolicy: { maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
  });

  it("encrypts the events topic with the alarm topic's key, the stack's one, which SES and SNS may use", () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0] as string;
    const topics = Object.values(template.findResources('AWS::SNS::Topic')).map(
      (t) => (t.Properties as { DisplayName: string; KmsMasterKeyId: unknown }).KmsMasterKeyId,
    );
    expect(topics).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }, { 'Fn::GetAtt': [keyId, 'Arn'] }]);
    // CDK merges statements that differ only in their principal: one service or several.
    const granted = (
      template.toJSON().Resources[keyId].Properties.KeyPolicy.Statement as {
        Principal: { Service?: string | string[] };
        Action: string[];
      }[]
    ).flatMap((s) => [s.Principal.Service ?? []].flat().map((service) => [service, [...s.Action].sort()]));
    expect(Object.fromEntries(granted)).toEqual({
      'cloudwatch.amazonaws.com': ['kms:Decrypt', 'kms:GenerateDataKey*'],
      'ses.amazonaws.com': ['kms:Decrypt', 'kms:GenerateDataKey*'],
      'sns.amazonaws.com': ['kms:Decrypt', 'kms:GenerateDataKey*'],
    });
    expect(granted).toHaveLength(3);
  });

  it('creates the sender domain as an identity with Easy DKIM, kept on delete, its records as outputs', () => {
    template.hasResource('AWS::SES::EmailIdentity', {
      Properties: {
        EmailIdentity: 'example.com',
        DkimAttributes: { SigningEnabled: true },
        DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      },
      DeletionPolicy: 'Retain',
    });
    const outputs = Object.entries(template.toJSON().Outputs as Record<string, { Description: string }>);
    const dkim = outputs.filter(([id]) => id.startsWith('DeliveryEvidenceDkimRecord'));
    expect(dkim).toHaveLength(3);
    for (const [, output] of dkim)
      expect(output.Description).toMatch(/publish this CNAME record in the DNS of example\.com/);
  });

  it('has Act and the question page (a bounced notice resent) send under the configuration set, allowed on the set', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.sesConfigurationSet]: { Ref: Match.stringLikeRegexp('^DeliveryEvidenceNotices') },
        }),
      },
    });
    const env = (key: 'carryOutEffects' | 'sesEvents' | 'effectQuestionsPage') =>
      template.toJSON().Resources[fn(key)].Properties.Environment.Variables as Record<string, unknown>;
    expect(env('carryOutEffects')[ENV.sesConfigurationSet]).toBeDefined();
    expect(env('effectQuestionsPage')[ENV.sesConfigurationSet]).toBeDefined();
    // Questions go out without it: every event the set publishes is about a notice.
    expect(env('sesEvents')[ENV.sesConfigurationSet]).toBeUndefined();
    const onSet = statementsOf(template, stateless, stateless.functions.carryOutEffects.role).filter((s) =>
      JSON.stringify(s.Resource).includes('configuration-set'),
    );
    expect(onSet).toHaveLength(1);
    expect(onSet[0]?.Action).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect(onSet[0]?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'casebook@example.com' } });
    const resendOnSet = statementsOf(
      template,
      stateless,
      stateless.functions.effectQuestionsPage.role,
    ).filter((s) => JSON.stringify(s.Resource).includes('configuration-set'));
    expect(resendOnSet).toEqual(onSet);
    // Nothing else may send under it.
    expect(
      statementsOf(template, stateless, stateless.functions.sesEvents.role).filter((s) =>
        JSON.stringify(s.Resource).includes('configuration-set'),
      ),
    ).toEqual([]);
  });
});
