import { describe, expect, it } from 'vitest';
import { emptyUsage, firesAMonth, idleMonth, total, usageCost } from '../../bench/aws-costs.ts';

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

  it('prices SES as the issue states it: $1.00 for 10,000 notices', () => {
    expect(total(usageCost({ ...emptyUsage(), sesMessages: 10_000 }))).toBeCloseTo(1, 6);
  });
});
