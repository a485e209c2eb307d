/**
 * A finance-shaped ledger for the finance benchmarks, written fast: incidents put as the
 * operational store puts them, and each chain as pre-sealed format 3 items (25 entries each,
 * heads signed) written with BatchWriteItem — not one append at a time; appending is not what
 * these benchmarks measure. Refunds, credits, voids and re-amounts of earlier refunds, ops labour
 * (the workroom's time), legal fees and in-flight refunds, in two currencies, all recorded in
 * November 2026.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { classify } from '../functions/domain/alert.ts';
import type { HeadSigner } from '../functions/domain/checkpoint.ts';
import { formatIncidentId, openIncident } from '../functions/domain/incident.ts';
import type { ChainItemV3, ChainTip, LedgerEntryDraft } from '../functions/domain/ledger.ts';
import { batchItem, genesisTip, newEntryId, tipAfter } from '../functions/domain/ledger.ts';
import { plainAlert } from '../test/support/incidents.ts';

export interface FinanceSeed {
  readonly incidents: number;
  readonly entriesPerIncident: number;
  /** The first incident's number; the others follow. @default 1 */
  readonly firstNumber?: number;
}

const PER_ITEM = 25;
const PUTS_IN_FLIGHT = 4;
const AREAS = ['billing', 'payments', 'accounts', 'shipping'];
const ROLES = ['SRE', 'Support', 'Legal'];

/** The n-th entry (1-based) of an incident's log: its draft, and the id of an earlier one it corrects. */
function draftOf(incident: string, n: number, ids: readonly string[]): LedgerEntryDraft {
  const at = new Date(Date.UTC(2026, 10, 2) + n * 1000).toISOString();
  const base = {
    log: 'effect' as const,
    world: 'RML3' as const,
    phase: 'Act' as const,
    at,
    actor: 'bench',
    idempotencyKey: `${incident}:${n}`,
    summary: `entry ${n}`,
    detail: {},
  };
  const currency = n % 3 === 0 ? 'USD' : 'EUR';
  const earlier = n > 2 ? ids[n - 3] : undefined;
  switch (n % 20) {
    case 1:
      return {
        ...base,
        kind: 'ops_labour',
        detail: { role: ROLES[n % 3] as string, minutes: 15 + (n % 90) },
      };
    case 5:
      return {
        ...base,
        kind: 'legal_fee',
        state: 'confirmed',
        amount: { minor: 25_000, currency },
        obligation: 'brand',
      };
    case 9:
      return {
        ...base,
        kind: 'credit',
        state: 'confirmed',
        amount: { minor: 500, currency },
        obligation: 'brand',
      };
    case 13:
      return {
        ...base,
        kind: 'refund',
        state: 'intent',
        amount: { minor: 1299, currency },
        obligation: 'tos',
      };
    case 17:
    case 18:
      // A void, then a re-amount, of the refunds two entries before each.
      return earlier
        ? {
            ...base,
            kind: 'correction',
            state: 'confirmed',
            ...(n % 20 === 18 ? { amount: { minor: 999, currency } } : {}),
            corrects: { id: earlier, seq: n - 2 },
          }
        : { ...base, kind: 'detection' };
    default:
      return {
        ...base,
        kind: 'refund',
        state: 'confirmed',
        amount: { minor: 1299 + (n % 7), currency },
        obligation: 'tos',
        counterparty: `cp_${n.toString(16).padStart(32, '0')}`,
        effectId: `e-${n}`,
        providerRef: `re_${n}`,
        effectiveAt: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString(),
      };
  }
}

/** Writes the incidents and their chains; returns how many entries it wrote. */
export async function seedFinanceLedger(
  db: DynamoDBDocumentClient,
  tables: { readonly operations: string; readonly ledger: string },
  signer: HeadSigner,
  seed: FinanceSeed,
): Promise<number> {
  const store = new DynamoDbOperationsStore(db, tables.operations);
  const first = seed.firstNumber ?? 1;
  let written = 0;
  for (let i = 0; i < seed.incidents; i++) {
    const id = formatIncidentId(2026, first + i);
    await store.createIncident({
      ...openIncident(id, plainAlert(first + i), classify({}), '2026-11-01T00:00:00.000Z'),
      productArea: AREAS[i % AREAS.length] as string,
    });
    const items: ChainItemV3[] = [];
    const ids: string[] = [];
    let tip: ChainTip = genesisTip();
    for (let start = 1; start <= seed.entriesPerIncident; start += PER_ITEM) {
      const drafts = [];
      for (let n = start; n < start + PER_ITEM && n <= seed.entriesPerIncident; n++) {
        const draft = draftOf(id, n, ids);
        const entryId = newEntryId(draft);
        ids.push(entryId);
        drafts.push({ draft, id: entryId });
      }
      const item = await batchItem(id, tip, drafts, signer);
      items.push(item);
      tip = tipAfter(item, tip);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: PUTS_IN_FLIGHT }, async () => {
        while (next < items.length) {
          const batch = items.slice(next, next + 25);
          next += 25;
          await db.send(
            new BatchWriteCommand({
              RequestItems: { [tables.ledger]: batch.map((Item) => ({ PutRequest: { Item } })) },
            }),
          );
        }
      }),
    );
    written += seed.entriesPerIncident;
  }
  return written;
}
