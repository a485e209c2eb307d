/**
 * The console's read of the incidents: the byCreation index, projected to the few attributes the
 * list shows, so a row of the console costs a few hundred bytes whatever the incident's plan,
 * timeline or ledger hold, and a page reads as far down the index as its rows.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { IncidentSummaries, IncidentSummary, SummaryRequest } from '../domain/console.ts';
import { FINAL_STATUSES } from '../domain/vocabulary.ts';
import { ALL_INCIDENTS, listingKey } from './operations-keys.ts';

/** The attribute paths read; every name goes through a placeholder (many are reserved words). */
const PROJECTED = [
  'id',
  'title',
  'severity',
  'status',
  'phase',
  'commander',
  'detectedAt',
  'acknowledgedAt',
  'mitigatedAt',
  'resolvedAt',
  'piiAwareAt',
  'postmortemAt',
  'closedAt',
  'decideRound',
  'regulatorNotified.at',
  'impact.at',
  'plan.version',
  'planSubmitted.version',
  'approvalRound.round',
  'approvalRound.rule.roles',
  'approvalRound.decided.verdict',
  'halted.reason',
];
const NAMES = [...new Set(PROJECTED.flatMap((p) => p.split('.')))];
const PLACEHOLDER = new Map(NAMES.map((n, i) => [n, `#a${i}`]));
const PROJECTION = PROJECTED.map((p) =>
  p
    .split('.')
    .map((n) => PLACEHOLDER.get(n))
    .join('.'),
).join(', ');
const ATTRIBUTE_NAMES = Object.fromEntries(NAMES.map((n) => [PLACEHOLDER.get(n), n]));

type Item = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const sub = (item: Item, name: string) => (item[name] ?? {}) as Item;

function summaryOf(item: Item): IncidentSummary {
  const round = item.approvalRound as Item | undefined;
  const notifiedAt = str(sub(item, 'regulatorNotified').at);
  const optional: Record<string, unknown> = {
    commander: str(item.commander),
    acknowledgedAt: str(item.acknowledgedAt),
    mitigatedAt: str(item.mitigatedAt),
    resolvedAt: str(item.resolvedAt),
    piiAwareAt: str(item.piiAwareAt),
    postmortemAt: str(item.postmortemAt),
    closedAt: str(item.closedAt),
    regulatorNotified: notifiedAt ? { at: notifiedAt } : undefined,
    impactAt: str(sub(item, 'impact').at),
    planVersion: num(sub(item, 'plan').version),
    planSubmittedVersion: num(sub(item, 'planSubmitted').version),
    approvalRound: round
      ? {
          round: num(round.round) ?? 0,
          roles: ((round.rule as Item | undefined)?.roles as string[] | undefined) ?? [],
          decided: round.decided !== undefined,
        }
      : undefined,
    halted: item.halted !== undefined ? true : undefined,
  };
  return {
    id: String(item.id),
    title: String(item.title ?? ''),
    severity: item.severity as IncidentSummary['severity'],
    status: item.status as IncidentSummary['status'],
    phase: item.phase as IncidentSummary['phase'],
    detectedAt: String(item.detectedAt),
    decideRound: num(item.decideRound) ?? 0,
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as object),
  };
}

/** Evaluated items a Query reads per call: a page of rows, and room for the filters to pass some by. */
const READ_AHEAD = 100;

export class DynamoDbIncidentSummaries implements IncidentSummaries {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  /**
   * The byCreation index, newest first, from just after the incident the request names, the part
   * and the filters applied by DynamoDB (a filter reads past what it drops: a page over a part with
   * few matches reads further down the index, up to 1 MB of projected items a call).
   */
  async pageSummaries(request: SummaryRequest): Promise<IncidentSummary[]> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':all': ALL_INCIDENTS };
    names['#fstatus'] = 'status';
    FINAL_STATUSES.forEach((s, n) => {
      values[`:final${n}`] = s;
    });
    const finals = FINAL_STATUSES.map((_, n) => `:final${n}`).join(', ');
    filters.push(request.part === 'open' ? `NOT #fstatus IN (${finals})` : `#fstatus IN (${finals})`);
    if (request.status) {
      filters.push('#fstatus = :status');
      values[':status'] = request.status;
    }
    if (request.severity) {
      names['#fseverity'] = 'severity';
      filters.push('#fseverity = :severity');
      values[':severity'] = request.severity;
    }
    const out: IncidentSummary[] = [];
    let start: Record<string, unknown> | undefined = request.after
      ? listingKey(request.after.id, request.after.detectedAt)
      : undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byCreation',
          KeyConditionExpression: 'gsi1pk = :all',
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeValues: values,
          ProjectionExpression: PROJECTION,
          ExpressionAttributeNames: { ...ATTRIBUTE_NAMES, ...names },
          ScanIndexForward: false,
          Limit: Math.max(READ_AHEAD, request.limit),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.push(summaryOf(item));
      start = page.LastEvaluatedKey;
    } while (start && out.length < request.limit);
    return out.slice(0, request.limit);
  }
}
