/**
 * AWS's published prices (us-east-1, on-demand, no free tier counted) and what Casebook's usage
 * costs at them: an incident's, from the usage counted while the local stack works it
 * (bench/usage-meter.ts), and a month with no incident, from the synthesized templates' resources.
 * The free tiers are left out on purpose: an account that holds payments uses them up elsewhere.
 */

import { METRIC } from '../functions/metric-names.ts';

/** When the prices below were read, and from where. */
export const PRICES_AS_OF = '2026-12-07';
export const PRICES_SOURCE =
  "aws.amazon.com pricing pages for Step Functions, KMS and CloudWatch; Lambda's Arm rates, DynamoDB's on-demand request units (reduced in November 2024), Secrets Manager's and CloudWatch alarms' as restated by third-party guides of 2024–2026; S3, SES, SQS, EventBridge and API Gateway from AWS's pricing pages as commonly quoted; see the table";

/** USD per unit. */
export const PRICES = {
  /** Standard workflows, per state transition ($0.025 per 1,000). */
  sfnTransition: 0.025 / 1000,
  /** Lambda requests, per request ($0.20 per million). */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda duration on Arm (Graviton), per GB-second. */
  lambdaArmGbSecond: 0.0000133334,
  /** DynamoDB on-demand, per write request unit ($0.625 per million). */
  dynamoWrite: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit ($0.125 per million). */
  dynamoRead: 0.125 / 1e6,
  /** SES outbound, per message ($0.10 per 1,000). */
  sesMessage: 0.1 / 1000,
  /** S3 Standard PUT, COPY, POST, LIST, per request ($0.005 per 1,000). */
  s3Put: 0.005 / 1000,
  /** S3 Standard GET and others, per request ($0.0004 per 1,000). */
  s3Get: 0.0004 / 1000,
  /** KMS, per request ($0.03 per 10,000; ECC signing is priced as symmetric requests). */
  kmsRequest: 0.03 / 10_000,
  /** KMS, per customer managed key a month. */
  kmsKeyMonth: 1,
  /** Secrets Manager, per secret a month. */
  secretMonth: 0.4,
  /** Secrets Manager, per API call ($0.05 per 10,000). */
  secretCall: 0.05 / 10_000,
  /** CloudWatch standard-resolution alarm, per alarm a month. */
  alarmMonth: 0.1,
  /** CloudWatch dashboard, per dashboard a month. */
  dashboardMonth: 3,
  /** CloudWatch custom metric, per metric a month (first 10,000), prorated by the hours it is published. */
  customMetricMonth: 0.3,
  /** SQS standard, per request ($0.40 per million). */
  sqsRequest: 0.4 / 1e6,
  /** API Gateway HTTP API, per request ($1.00 per million). */
  httpApiRequest: 1 / 1e6,
} as const;

/** The rows of BENCHMARKS.md's price table. */
export const PRICE_TABLE: readonly (readonly [string, string, string])[] = [
  ['Step Functions Standard', '$0.025 per 1,000 state transitions', 'aws.amazon.com/step-functions/pricing'],
  [
    'Lambda (Arm)',
    '$0.20 per million requests, $0.0000133334 per GB-second',
    'AWS Lambda pricing as restated by cloudchipr.com (2024)',
  ],
  [
    'DynamoDB on-demand',
    '$0.625 per million write, $0.125 per million read request units',
    'AWS News Blog (updated 2025-01-31); airbyte.com',
  ],
  ['SES', '$0.10 per 1,000 messages', 'AWS SES pricing (the issue: $1.00 per 10,000)'],
  [
    'S3 Standard',
    '$0.005 per 1,000 PUT/LIST, $0.0004 per 1,000 GET',
    'AWS S3 pricing, us-east-1 (not in the stored pages: the figure AWS has published since 2016)',
  ],
  ['KMS', '$1 per key a month, $0.03 per 10,000 requests', 'aws.amazon.com/kms/pricing'],
  [
    'Secrets Manager',
    '$0.40 per secret a month, $0.05 per 10,000 calls',
    'hivebook.wiki (AWS pricing restated)',
  ],
  [
    'CloudWatch',
    '$0.10 per standard alarm a month, $3.00 per dashboard a month, $0.30 per custom metric a month',
    'c3x.dev; aws.amazon.com/cloudwatch/pricing',
  ],
  ['SQS', '$0.40 per million requests', 'AWS SQS pricing (not in the stored pages)'],
  ['API Gateway HTTP API', '$1.00 per million requests', 'AWS API Gateway pricing (not in the stored pages)'],
];

/** What an incident used, as counted on the local stack. */
export interface Usage {
  stateTransitions: number;
  lambdaRequests: number;
  /** Sum over invocations of memory (GB) × duration (s), the duration rounded up to the ms. */
  lambdaGbSeconds: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  sesMessages: number;
  s3Puts: number;
  s3Gets: number;
  kmsRequests: number;
  httpRequests: number;
}

export const emptyUsage = (): Usage => ({
  stateTransitions: 0,
  lambdaRequests: 0,
  lambdaGbSeconds: 0,
  dynamoWriteUnits: 0,
  dynamoReadUnits: 0,
  sesMessages: 0,
  s3Puts: 0,
  s3Gets: 0,
  kmsRequests: 0,
  httpRequests: 0,
});

/** Each line of an incident's cost, USD. */
export function usageCost(u: Usage): Record<string, number> {
  return {
    'Step Functions': u.stateTransitions * PRICES.sfnTransition,
    'Lambda requests': u.lambdaRequests * PRICES.lambdaRequest,
    'Lambda duration': u.lambdaGbSeconds * PRICES.lambdaArmGbSecond,
    'DynamoDB writes': u.dynamoWriteUnits * PRICES.dynamoWrite,
    'DynamoDB reads': u.dynamoReadUnits * PRICES.dynamoRead,
    SES: u.sesMessages * PRICES.sesMessage,
    'S3 requests': u.s3Puts * PRICES.s3Put + u.s3Gets * PRICES.s3Get,
    KMS: u.kmsRequests * PRICES.kmsRequest,
    'API Gateway': u.httpRequests * PRICES.httpApiRequest,
  };
}

export const total = (lines: Record<string, number>) => Object.values(lines).reduce((a, b) => a + b, 0);

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

const MINUTES_A_MONTH = 30 * 24 * 60;
/** What one scheduled invocation is taken to use when nothing happened: a second at its memory. */
const IDLE_INVOCATION_SECONDS = 1;
/**
 * Lambda long-polls an idle standard queue with five pollers (20 s each), all month: it may go
 * down to two only where the event source sets no maximum concurrency, and ours sets one (AWS
 * Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings").
 */
const SQS_POLLERS = 5;
const SQS_POLLS_A_MONTH = SQS_POLLERS * ((MINUTES_A_MONTH * 60) / 20);

/**
 * The custom metrics a scheduled function publishes on every run even when nothing happened, by
 * the prefix of its logical id: the anchor counts its run and the anchor's age, which is what the
 * anchor alarm reads. CloudWatch bills a custom metric by the hours in which it is published.
 */
export const IDLE_METRICS: Readonly<Record<string, readonly string[]>> = {
  AnchorLedger: [METRIC.anchorRuns, METRIC.anchorAge],
};

/**
 * AWS's always-free allowances a month that touch an idle month (never subtracted from the key:
 * an account that holds payments uses them up elsewhere). KMS keys and Secrets Manager secrets
 * have none (a new secret has a 30-day trial); S3's requests are free for a new account's first
 * year only.
 */
export const FREE_TIER = {
  dashboards: 3,
  alarmMetrics: 10,
  customMetrics: 10,
  sqsRequests: 1e6,
  lambdaRequests: 1e6,
  lambdaGbSeconds: 400_000,
  kmsRequests: 20_000,
} as const;

/** The KMS key usages of the two ledger keys (the HMAC seal and the ECC signing key). */
const LEDGER_KEY_USAGES = new Set(['GENERATE_VERIFY_MAC', 'SIGN_VERIFY']);

/** How many times a month an EventBridge schedule expression fires. */
export function firesAMonth(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]?.startsWith('minute') ? 1 : rate[2]?.startsWith('hour') ? 60 : 1440;
    return MINUTES_A_MONTH / (n * unit);
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)$/.exec(expression);
  if (cron) {
    const [, minute, hour, dom, month] = cron;
    const count = (field: string | undefined, range: number) =>
      field === '*' || field === '?' ? range : (field ?? '').split(',').length;
    const perDay = count(minute, 60) * count(hour, 24);
    const days = dom === '*' || dom === '?' ? 30 : count(dom, 30);
    return perDay * days * (month === '*' ? 1 : count(month, 12) / 12);
  }
  throw new Error(`unknown schedule expression ${expression}`);
}

/** What a line of an idle month is: the floor is the ledger keys, the alarms and the dashboards. */
export type IdleKind =
  | 'ledger keys'
  | 'other keys'
  | 'secrets'
  | 'alarms'
  | 'dashboards'
  | 'schedules'
  | 'metrics'
  | 'polling';
const FLOOR_KINDS: readonly IdleKind[] = ['ledger keys', 'dashboards', 'alarms'];

export interface IdleLine {
  readonly kind: IdleKind;
  readonly what: string;
  readonly count: number;
  readonly usd: number;
  /** What an always-free allowance would cover of it. */
  readonly free: number;
}

export interface IdleMonth {
  /** Each resource billed by the month or by a schedule; `free` is what an always-free allowance would cover. */
  readonly lines: IdleLine[];
  readonly total: number;
  /** What the resources the product requires cost whatever else is cut: the ledger keys, the dashboard, the alarms. */
  readonly floor: { readonly lines: IdleLine[]; readonly total: number };
  /** The total if every always-free allowance applied (a note, never the key). */
  readonly totalWithFreeTier: number;
  readonly notes: string[];
}

/** A month with no incident: every resource billed by the month or run by a schedule. */
export function idleMonth(
  templates: Record<string, { Resources: Record<string, CfnResource> }>,
  idleMetrics: Readonly<Record<string, readonly string[]>> = IDLE_METRICS,
): IdleMonth {
  const resources = Object.values(templates).flatMap((t) => Object.values(t.Resources));
  const byId = Object.assign({}, ...Object.values(templates).map((t) => t.Resources)) as Record<
    string,
    CfnResource
  >;
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  const lines: IdleMonth['lines'] = [];
  const add = (kind: IdleKind, what: string, count: number, usd: number, free = 0) => {
    if (count > 0) lines.push({ kind, what, count, usd, free: Math.min(free, usd) });
  };
  const keys = ofType('AWS::KMS::Key');
  const ledgerKeys = keys.filter((k) => LEDGER_KEY_USAGES.has(String(k.Properties?.KeyUsage))).length;
  add(
    'ledger keys',
    'KMS keys: the ledger seal (HMAC) and signing (ECC) keys',
    ledgerKeys,
    ledgerKeys * PRICES.kmsKeyMonth,
  );
  const otherKeys = keys.length - ledgerKeys;
  add(
    'other keys',
    'KMS keys: others (symmetric, for encryption)',
    otherKeys,
    otherKeys * PRICES.kmsKeyMonth,
  );
  const secrets = ofType('AWS::SecretsManager::Secret').length;
  add('secrets', 'Secrets Manager secrets', secrets, secrets * PRICES.secretMonth);
  const alarms = ofType('AWS::CloudWatch::Alarm').length;
  add(
    'alarms',
    'CloudWatch alarms (standard resolution)',
    alarms,
    alarms * PRICES.alarmMonth,
    FREE_TIER.alarmMetrics * PRICES.alarmMonth,
  );
  const dashboards = ofType('AWS::CloudWatch::Dashboard').length;
  add(
    'dashboards',
    'CloudWatch dashboards',
    dashboards,
    dashboards * PRICES.dashboardMonth,
    FREE_TIER.dashboards * PRICES.dashboardMonth,
  );

  const metrics: string[] = [];
  let metricUsd = 0;
  let lambdaRequests = 0;
  let lambdaGbSeconds = 0;
  let kmsRequests = 0;
  for (const rule of [...ofType('AWS::Events::Rule'), ...ofType('AWS::Scheduler::Schedule')]) {
    const expression = rule.Properties?.ScheduleExpression;
    if (typeof expression !== 'string') continue;
    const fires = firesAMonth(expression);
    const targets = (rule.Properties?.Targets as { Arn?: unknown }[] | undefined) ?? [
      rule.Properties?.Target as { Arn?: unknown },
    ];
    let gbSeconds = 0;
    for (const target of targets) {
      const arn = target?.Arn as { 'Fn::GetAtt'?: [string, string] } | undefined;
      const id = arn?.['Fn::GetAtt']?.[0];
      const fn = id ? byId[id] : undefined;
      const memoryGb = Number(fn?.Properties?.MemorySize ?? 128) / 1024;
      gbSeconds += fires * memoryGb * IDLE_INVOCATION_SECONDS;
      // Published in every hour the schedule fires in at least once.
      const hoursShare = Math.min(1, fires / (MINUTES_A_MONTH / 60));
      for (const [prefix, names] of Object.entries(idleMetrics)) {
        if (!id?.startsWith(prefix)) continue;
        metrics.push(...names);
        metricUsd += names.length * hoursShare * PRICES.customMetricMonth;
      }
    }
    lambdaRequests += fires * targets.length;
    lambdaGbSeconds += gbSeconds;
    kmsRequests += fires * targets.length;
    add(
      'schedules',
      `schedule ${expression} → Lambda (${IDLE_INVOCATION_SECONDS} s each, a KMS request and an S3 put each)`,
      Math.round(fires),
      fires * targets.length * (PRICES.lambdaRequest + PRICES.kmsRequest + PRICES.s3Put) +
        gbSeconds * PRICES.lambdaArmGbSecond,
      // Lambda's and KMS's allowances cover it when the schedules together stay under them; S3's do not.
      fires * targets.length * (PRICES.lambdaRequest + PRICES.kmsRequest) +
        gbSeconds * PRICES.lambdaArmGbSecond,
    );
  }
  add(
    'metrics',
    `CloudWatch custom metrics published when nothing happens (${metrics.join(', ')})`,
    metrics.length,
    metricUsd,
    FREE_TIER.customMetrics * PRICES.customMetricMonth,
  );
  const sqsSources = ofType('AWS::Lambda::EventSourceMapping').filter((m) =>
    JSON.stringify(m.Properties?.EventSourceArn ?? '').includes('Queue'),
  ).length;
  add(
    'polling',
    `SQS event sources (Lambda long-polls all month: ${SQS_POLLERS} pollers, a request every 20 s each)`,
    sqsSources,
    sqsSources * SQS_POLLS_A_MONTH * PRICES.sqsRequest,
    Math.min(sqsSources * SQS_POLLS_A_MONTH, FREE_TIER.sqsRequests) * PRICES.sqsRequest,
  );
  const scheduledWithinFree =
    lambdaRequests <= FREE_TIER.lambdaRequests &&
    lambdaGbSeconds <= FREE_TIER.lambdaGbSeconds &&
    kmsRequests <= FREE_TIER.kmsRequests;

  const free = [
    [
      'AWS::DynamoDB::Table',
      'DynamoDB tables (on demand: no request, no charge; storage and PITR of a few MB round to $0)',
    ],
    ['AWS::S3::Bucket', 'S3 buckets (storage of a few MB rounds to $0)'],
    ['AWS::Lambda::Function', 'Lambda functions (billed per request only)'],
    ['AWS::StepFunctions::StateMachine', 'state machines (billed per transition only)'],
    ['AWS::SNS::Topic', 'SNS topics (billed per message only)'],
    ['AWS::SQS::Queue', 'SQS queues (billed per request; the polling is above)'],
    ['AWS::Logs::LogGroup', 'log groups (billed per GB ingested and stored)'],
    ['AWS::Cognito::UserPool', 'Cognito user pools (billed per monthly active user)'],
  ] as const;
  const notes = free
    .map(([type, what]) => [ofType(type).length, what] as const)
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}: $0 idle.`);
  const sum = lines.reduce((a, l) => a + l.usd, 0);
  const floorLines = lines.filter((l) => FLOOR_KINDS.includes(l.kind));
  const covered = lines
    .filter((l) => scheduledWithinFree || l.kind !== 'schedules')
    .reduce((a, l) => a + l.free, 0);
  return {
    lines,
    total: sum,
    floor: { lines: floorLines, total: floorLines.reduce((a, l) => a + l.usd, 0) },
    totalWithFreeTier: sum - covered,
    notes,
  };
}

/** State transitions of an execution, as Step Functions bills them: one per state entered. */
export const transitionsOf = (history: readonly { stateEnteredEventDetails?: unknown }[]) =>
  history.filter((e) => e.stateEnteredEventDetails !== undefined).length;

const usd = (n: number) => (n >= 0.01 ? n.toFixed(4) : n.toPrecision(3));

/** The cost keys and BENCHMARKS.md's section for incidents whose usage was counted. */
export function incidentCosts(incidents: readonly { key: string; label: string; usage: Usage }[]): {
  results: Record<string, number>;
  markdown: string;
} {
  const lines = incidents.map((i) => usageCost(i.usage));
  const results = Object.fromEntries(
    incidents.map((i, n) => [
      `cost.usd_per_incident_${i.key}`,
      Number(usd(total(lines[n] as Record<string, number>))),
    ]),
  );
  const usageRows: [string, (u: Usage) => number][] = [
    ['state transitions', (u) => u.stateTransitions],
    ['Lambda invocations', (u) => u.lambdaRequests],
    ['Lambda GB-seconds (512 MB, local wall time)', (u) => Math.round(u.lambdaGbSeconds * 10) / 10],
    ['DynamoDB write request units', (u) => u.dynamoWriteUnits],
    ['DynamoDB read request units', (u) => u.dynamoReadUnits],
    ['SES messages', (u) => u.sesMessages],
    ['S3 PUT/LIST, GET requests', (u) => u.s3Puts + u.s3Gets],
    ['KMS requests (seals, verifications, signatures)', (u) => u.kmsRequests],
    ['API Gateway requests', (u) => u.httpRequests],
  ];
  const cell = (label: string, value: number, u: Usage) =>
    label.startsWith('S3') ? `${u.s3Puts}, ${u.s3Gets}` : value.toLocaleString('en-US');
  const markdown = [
    '### What an incident costs on AWS (`cost.usd_per_incident_*`)',
    '',
    `The usage of each incident above, counted in this process while the local stack worked it (\`bench/usage-meter.ts\`: every SDK call a handler made, every invocation, every seal and signature), times AWS's published prices for us-east-1 (on demand, free tiers left out), as of ${PRICES_AS_OF}:`,
    '',
    `| usage | ${incidents.map((i) => i.label).join(' | ')} |`,
    `|---|${incidents.map(() => '---:').join('|')}|`,
    ...usageRows.map(
      ([label, of]) =>
        `| ${label} | ${incidents.map((i) => cell(label, of(i.usage), i.usage)).join(' | ')} |`,
    ),
    `| **USD** | ${incidents.map((_, n) => `**${usd(total(lines[n] as Record<string, number>))}**`).join(' | ')} |`,
    '',
    `| USD by service | ${incidents.map((i) => i.label).join(' | ')} |`,
    `|---|${incidents.map(() => '---:').join('|')}|`,
    ...Object.keys(lines[0] ?? {}).map((k) => `| ${k} | ${lines.map((l) => usd(l[k] ?? 0)).join(' | ')} |`),
    '',
    'Prices used:',
    '',
    '| service | price | where it comes from |',
    '|---|---|---|',
    ...PRICE_TABLE.map(([s, p, w]) => `| ${s} | ${p} | ${w} |`),
    '',
    "Reading: Lambda's time is the local wall time of each invocation, which waits on emulators sharing one process, so it is counted high; the payments provider's own fees are not AWS's and are left out.",
  ].join('\n');
  return { results, markdown };
}

const dollars = (n: number) => `$${n.toFixed(2)}`;

/** BENCHMARKS.md's section on an idle month: the lines, the floor the required resources set, the free tier as a note. */
export function idleMonthMarkdown(idle: IdleMonth): string {
  const of = (kinds: readonly IdleKind[]) => idle.lines.filter((l) => kinds.includes(l.kind));
  const usdOf = (kinds: readonly IdleKind[]) => of(kinds).reduce((a, l) => a + l.usd, 0);
  const countOf = (kind: IdleKind) => of([kind]).reduce((a, l) => a + l.count, 0);
  const above: [IdleKind, string][] = [
    ['other keys', `the topics' key`],
    ['secrets', `${countOf('secrets')} secrets`],
    ['metrics', "the anchor's metrics"],
    ['polling', 'the SQS polling'],
    ['schedules', 'the scheduled runs'],
  ];
  const floorText = `the two ledger keys (${dollars(usdOf(['ledger keys']))}), the dashboard (${dollars(usdOf(['dashboards']))}) and the ${countOf('alarms')} alarms (${dollars(usdOf(['alarms']))})`;
  const verdict =
    idle.floor.total > 5
      ? 'so ≤ $5 cannot be met while they stand, whatever else is cut'
      : `which leaves ${dollars(5 - idle.floor.total)} of the ≤ $5 for everything else`;
  return [
    '### A month idle (`cost.usd_idle_month`)',
    '',
    `What the deployed stacks cost in a month in which no incident happens: every resource of the synthesized templates that is billed by the month or by a schedule, at AWS's published prices for us-east-1 as of ${PRICES_AS_OF} (${PRICES_SOURCE}).`,
    '',
    '| resource | count | USD a month |',
    '|---|---:|---:|',
    ...idle.lines.map((l) => `| ${l.what} | ${l.count} | ${l.usd.toFixed(4)} |`),
    `| **total** | | **${idle.total.toFixed(2)}** |`,
    '',
    `**The floor.** What the product requires costs ${dollars(idle.floor.total)} a month before anything else is counted: ${floorText}. The ledger keys cannot be replaced by AWS-managed keys (nobody may read the seal or the signing key; auditors verify with the public key), and the dashboard and every alarm are required; ${verdict}. Above the floor, ${dollars(idle.total - idle.floor.total)}: ${above
      .filter(([kind]) => of([kind]).length > 0)
      .map(([kind, label]) => `${label} ${dollars(usdOf([kind]))}`)
      .join(', ')}.`,
    '',
    "Why what is above the floor stays: the one other key encrypts both SNS topics (SES and CloudWatch cannot publish to a topic under the AWS-managed key); each secret is held with a different party or read by different functions (the pseudonym key, the console's session key, Stripe's key, and the four webhook secrets, three generated for a tool each and PagerDuty's put in by hand: CloudFormation generates one value per secret, and one JSON secret would have the operator read, edit and write back JSON to put PagerDuty's or rotate one, where a slip breaks every source at once); the event source's long polls are what SNS → SQS → Lambda costs at a bounded concurrency.",
    '',
    `**Free tier (a note: never subtracted from the key).** With AWS's always-free allowances a month — in CloudWatch ${FREE_TIER.dashboards} dashboards, ${FREE_TIER.alarmMetrics} alarm metrics and ${FREE_TIER.customMetrics} custom metrics; ${(FREE_TIER.sqsRequests / 1e6).toFixed(0)} million SQS requests; Lambda's ${(FREE_TIER.lambdaRequests / 1e6).toFixed(0)} million requests and ${FREE_TIER.lambdaGbSeconds.toLocaleString('en-US')} GB-seconds; ${FREE_TIER.kmsRequests.toLocaleString('en-US')} KMS requests; none for KMS keys or secrets — an account that used none of them elsewhere would pay ${dollars(idle.totalWithFreeTier)} a month for Casebook idle. An account that holds payments uses them up elsewhere, so the key counts them as paid.`,
    '',
    ...idle.notes.map((n) => `- ${n}`),
    "- Not counted: the `ColdStart` metric Powertools publishes when a function starts cold (each function's is a custom metric, billed for the hours it is published in: at most $0.30 a month for the anchor's if its every run starts cold), and the logs and traces of the scheduled runs (a few MB and a few thousand traces a month: cents).",
  ].join('\n');
}
