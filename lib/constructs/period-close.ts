import { CfnOutput, Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { closeConfig } from '../../functions/adapters/rules-config.ts';
import { CLOSE_PREFIX } from '../../functions/domain/period-close.ts';
import { ENV } from '../../functions/env-names.ts';
import type { CasebookFunction } from './casebook-function.ts';
import { throwIfInvalid } from './validation.ts';

/** CDK context keys of the close: the lag in days, and the exchange rates a close keeps (JSON). */
export const CLOSE_CONTEXT_KEYS = {
  lagDays: 'casebook:closeLagDays',
  exchangeRates: 'casebook:exchangeRates',
} as const;

export interface PeriodCloseProps {
  /** The close function of the catalog (`close-period`). */
  readonly fn: CasebookFunction;
  /** The anchors bucket (Object Lock): closes go under `closes/` in it. */
  readonly anchorBucket: IBucket;
}

/**
 * The month's close on AWS: the close function may put under `closes/` in the anchors bucket and
 * nowhere else in it, and runs daily, closing last month once its lag has passed — a month
 * already closed costs the daily run one read. The lag and the exchange rates come from CDK
 * context, checked as the function itself will parse them.
 */
export class PeriodClose extends Construct {
  public readonly schedule: Rule;

  public constructor(scope: Construct, id: string, props: PeriodCloseProps) {
    super(scope, id);
    const lag = this.node.tryGetContext(CLOSE_CONTEXT_KEYS.lagDays) as unknown;
    const rates = this.node.tryGetContext(CLOSE_CONTEXT_KEYS.exchangeRates) as unknown;
    const env = {
      ...(lag === undefined ? {} : { [ENV.closeLagDays]: String(lag) }),
      ...(rates === undefined
        ? {}
        : { [ENV.exchangeRates]: typeof rates === 'string' ? rates : JSON.stringify(rates) }),
    };
    const parsed = closeConfig.safeParse(env);
    throwIfInvalid(
      this,
      parsed.success
        ? []
        : parsed.error.issues.map((i) => {
            const variable = String(i.path[0] ?? '');
            const key =
              variable === ENV.exchangeRates ? CLOSE_CONTEXT_KEYS.exchangeRates : CLOSE_CONTEXT_KEYS.lagDays;
            return `${key} ${i.message}`;
          }),
    );
    for (const [name, value] of Object.entries(env)) props.fn.addEnvironment(name, value);

    props.fn.bindBucketObjects({
      bucket: props.anchorBucket,
      envName: ENV.anchorBucket,
      actions: ['s3:PutObject'],
      prefix: CLOSE_PREFIX,
      why: `Put only under ${CLOSE_PREFIX}: one object per month, ${CLOSE_PREFIX}YYYY-MM.json, whose month is known only when it runs; nothing can be read, listed or deleted there, and Object Lock keeps every version.`,
    });

    this.schedule = new Rule(this, 'Schedule', {
      description:
        'Casebook: closes last month for good once its lag has passed (a closed month is left as it is)',
      schedule: Schedule.cron({ hour: '2', minute: '30' }),
      targets: [new LambdaFunction(props.fn.function, { retryAttempts: 2, maxEventAge: Duration.hours(6) })],
    });

    // `casebook period close` on AWS invokes it by this name (CASEBOOK_CLOSE_FUNCTION).
    new CfnOutput(this, 'CloseFunctionName', {
      key: 'CloseFunctionName',
      value: props.fn.function.functionName,
      description: 'The close function casebook period close invokes on AWS (CASEBOOK_CLOSE_FUNCTION)',
    });
  }
}
