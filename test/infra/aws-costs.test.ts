import { describe, expect, it } from 'vitest';
import {
  emptyUsage,
  firesAMonth,
  idleMonth,
  idleMonthMarkdown,
  total,
  usageCost,
} from '../../bench/aws-costs.ts';
import { synthCasebookApp } from './casebook-app.ts';

describe('the AWS cost model of the benchmarks', () => {
  it('counts how often a schedule fires in a 30-day month', () => {
    expect(firesAMonth('rate(15 minutes)')).toBe(2880);
    expect(firesAMonth('rate(1 hour)')).toBe(720);
    expect(firesAMonth('cron(15 1 * * ? *)')).toBe(30);
    expect(() => firesAMonth('every now and then')).toThrow(/unknown schedule expression/);
  });

  it('prices an idle month from the resources a template has', () => {
    const idle = idleMonth({
      one: {
        Resources: {
          Key: { Type: 'AWS::KMS::Key' },
          Secret: { Type: 'AWS::SecretsManager::Secret' },
          A1: { Type: 'AWS::CloudWatch::Alarm' },
          A2: { Type: 'AWS::CloudWatch::Alarm' },
          Board: { Type: 'AWS::CloudWatch::Dashboard' },
          Table: { Type: 'AWS::DynamoDB::Table' },
        },
      },
    });
    expect(idle.total).toBeCloseTo(1 + 0.4 + 0.2 + 3, 6);
    expect(idle.notes).toEqual([expect.stringMatching(/^1 DynamoDB tables/)]);
  });

  it('sets the floor at the ledger keys, the dashboard and the alarms, and says when it is above $5', () => {
    const alarms = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`Alarm${i}`, { Type: 'AWS::CloudWatch::Alarm' }]),
    );
    const idle = idleMonth({
      stateful: {
        Resources: {
          Seal: { Type: 'AWS::KMS::Key', Properties: { KeyUsage: 'GENERATE_VERIFY_MAC' } },
          Signing: { Type: 'AWS::KMS::Key', Properties: { KeyUsage: 'SIGN_VERIFY' } },
          Secret: { Type: 'AWS::SecretsManager::Secret' },
        },
      },
      stateless: {
        Resources: {
          TopicKey: { Type: 'AWS::KMS::Key', Properties: {} },
          Board: { Type: 'AWS::CloudWatch::Dashboard' },
          ...alarms,
        },
      },
    });
    expect(idle.floor.total).toBeCloseTo(2 + 3 + 1.1, 6);
    expect(idle.floor.lines.map((l) => [l.kind, l.count])).toEqual([
      ['ledger keys', 2],
      ['alarms', 11],
      ['dashboards', 1],
    ]);
    expect(idle.total).toBeCloseTo(6.1 + 1 + 0.4, 6);
    // The free tier covers the dashboard and ten of the alarms; keys and secrets have none.
    expect(idle.totalWithFreeTier).toBeCloseTo(3 + 0.4 + 0.1, 6);
    const markdown = idleMonthMarkdown(idle);
    expect(markdown).toContain('costs $6.10 a month before anything else is counted');
    expect(markdown).toContain('≤ $5 cannot be met while they stand');
    expect(markdown).toContain('would pay $3.50 a month for Casebook idle');
  });

  it("counts the metrics a schedule's function publishes when idle, by the hours it fires in, and Lambda's SQS polling", () => {
    const idle = idleMonth(
      {
        one: {
          Resources: {
            Every15: {
              Type: 'AWS::Events::Rule',
              Properties: {
                ScheduleExpression: 'rate(15 minutes)',
                Targets: [{ Arn: { 'Fn::GetAtt': ['AnchorFn1', 'Arn'] } }],
              },
            },
            Daily: {
              Type: 'AWS::Events::Rule',
              Properties: {
                ScheduleExpression: 'cron(15 1 * * ? *)',
                Targets: [{ Arn: { 'Fn::GetAtt': ['DailyFn', 'Arn'] } }],
              },
            },
            AnchorFn1: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 512 } },
            DailyFn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 512 } },
            Source: {
              Type: 'AWS::Lambda::EventSourceMapping',
              Properties: { EventSourceArn: { 'Fn::GetAtt': ['EventsQueue1', 'Arn'] } },
            },
          },
        },
      },
      { AnchorFn: ['Runs', 'Age'], DailyFn: ['Daily'] },
    );
    const metrics = idle.lines.find((l) => l.kind === 'metrics');
    // Every hour for the anchor's two; the daily one in 30 of 720 hours.
    expect(metrics?.count).toBe(3);
    expect(metrics?.usd).toBeCloseTo(2 * 0.3 + (30 / 720) * 0.3, 6);
    // Five pollers, one request every 20 s each, 30 days: 648,000 requests at $0.40 a million.
    expect(idle.lines.find((l) => l.kind === 'polling')?.usd).toBeCloseTo(0.2592, 6);
  });

  it('finds in the synthesized stacks the two ledger keys, one key for both topics, seven secrets and the floor', () => {
    const { statefulTemplate, statelessTemplate } = synthCasebookApp();
    const idle = idleMonth({
      stateful: statefulTemplate.toJSON() as never,
      stateless: statelessTemplate.toJSON() as never,
    });
    const count = (kind: string) =>
      idle.lines.filter((l) => l.kind === kind).reduce((a, l) => a + l.count, 0);
    expect(count('ledger keys')).toBe(2);
    expect(count('other keys')).toBe(1);
    expect(count('secrets')).toBe(7);
    expect(count('dashboards')).toBe(1);
    expect(count('alarms')).toBe(11);
    expect(idle.floor.total).toBeCloseTo(6.1, 6);
    expect(idle.lines.find((l) => l.kind === 'metrics')?.what).toMatch(/AnchorRuns, AnchorAgeSeconds/);
  });

  it('prices SES as the issue states it: $1.00 for 10,000 notices', () => {
    expect(total(usageCost({ ...emptyUsage(), sesMessages: 10_000 }))).toBeCloseTo(1, 6);
  });
});
