/**
 * The auditor's check: reads every chain item of a ledger table and verifies each incident's chain —
 * hashes, seals (format 2), Merkle roots and head signatures (format 3), links and order — and walks
 * every anchor (anchor-verification.ts); each chain is then checked against the heads the anchors
 * hold, which shows chains cut short, rewritten and re-signed, or forked; incidents the operational
 * table or the anchors know but the ledger does not are named.
 */
import type { KeyObject } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { AnchoredHeadProblem } from '../domain/anchor.ts';
import { checkAnchoredHeads } from '../domain/anchor.ts';
import type { ChainItem, ChainProblem, Sealer } from '../domain/ledger.ts';
import { verifyChain } from '../domain/ledger.ts';
import type { AnchorStore } from '../domain/ports.ts';
import type { AnchorLogVerification } from './anchor-verification.ts';
import { tableLogOf, verifyAnchorLog } from './anchor-verification.ts';
import { isClaimItem } from './dynamodb-ledger.ts';

export interface IncidentVerification {
  readonly incidentId: string;
  /** How many entries its chain holds (a format 3 item holds up to 25). */
  readonly entries: number;
  readonly problems: readonly (ChainProblem | AnchoredHeadProblem)[];
}

export interface LedgerVerification {
  readonly incidents: readonly IncidentVerification[];
  /** The anchors walked, and what is wrong with them. */
  readonly anchors: AnchorLogVerification;
  readonly ok: boolean;
}

export interface VerifyLedgerSources {
  readonly db: DynamoDBDocumentClient;
  readonly ledgerTable: string;
  readonly sealer: Pick<Sealer, 'verify'>;
  /**
   * The public key that signs format 3 heads and anchors (ECDSA P-256): needed once a chain has
   * format 3 items or the bucket has signed anchors.
   */
  readonly publicKey?: KeyObject;
  readonly anchors?: AnchorStore;
  /** Every incident id the operational table holds. */
  readonly incidentIds?: () => Promise<readonly string[]>;
}

/** Verifies one incident, or every incident (a consistent scan of the table). */
export async function verifyLedger(
  sources: VerifyLedgerSources,
  options: {
    readonly incidentId?: string;
    readonly onProgress?: (done: number, total: number, what: 'anchors' | 'incidents') => void;
  } = {},
): Promise<LedgerVerification> {
  const { incidentId } = options;
  const byIncident = new Map<string, ChainItem[]>();
  const pages = incidentId
    ? paginateQuery(
        { client: sources.db },
        {
          TableName: sources.ledgerTable,
          KeyConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: { ':id': incidentId },
          ConsistentRead: true,
        },
      )
    : paginateScan({ client: sources.db }, { TableName: sources.ledgerTable, ConsistentRead: true });
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (isClaimItem(item)) continue;
      const chainItem = item as ChainItem;
      const list = byIncident.get(chainItem.incidentId) ?? [];
      list.push(chainItem);
      byIncident.set(chainItem.incidentId, list);
    }
  }

  const walked = sources.anchors
    ? await verifyAnchorLog(sources.anchors, sources.publicKey, sources.sealer, (done, total) =>
        options.onProgress?.(done, total, 'anchors'),
      )
    : undefined;
  const anchoredHeads = walked?.anchoredHeads ?? new Map();
  const known = new Set<string>(byIncident.keys());
  for (const id of anchoredHeads.keys()) known.add(id);
  for (const id of (await sources.incidentIds?.()) ?? []) known.add(id);
  const ids = [...known].filter((id) => !incidentId || id === incidentId).sort();

  const incidents: IncidentVerification[] = [];
  for (const [i, id] of ids.entries()) {
    const items = byIncident.get(id) ?? [];
    const signedHeads = walked?.history.signed.get(id) ?? [];
    const byTree = sources.publicKey !== undefined && items.length > 0 && signedHeads.length > 0;
    const problems: (ChainProblem | AnchoredHeadProblem)[] = [];
    if (items.length === 0 && !anchoredHeads.has(id)) {
      problems.push({
        seq: 0,
        problem: 'missing-chain',
        detail: 'the incident exists but has no ledger entries',
      });
    } else {
      const keys = { sealer: sources.sealer, ...(sources.publicKey ? { publicKey: sources.publicKey } : {}) };
      const chain = await verifyChain(id, items, keys, anchoredHeads.get(id));
      problems.push(...chain);
      if (byTree && sources.publicKey) {
        // The chain check compares the anchored item by its hash (its problems say "anchored"); the
        // tree says more where the chain is whole on its own: rewritten and re-signed with the key.
        // A fork is named whatever else is wrong.
        const whole = chain.every((p) => p.detail.includes('anchored'));
        for (const p of checkAnchoredHeads(id, tableLogOf(items), signedHeads, sources.publicKey)) {
          if (p.problem === 'forked-head') problems.push(p);
          else if (whole && (p.problem === 'rewritten' || p.problem === 'inconsistent')) {
            problems.splice(0, problems.length, ...problems.filter((q) => !q.detail.includes('anchored')), p);
          }
        }
      }
    }
    const entries = items.reduce((n, item) => n + entryCount(item), 0);
    incidents.push({ incidentId: id, entries, problems });
    options.onProgress?.(i + 1, ids.length, 'incidents');
  }
  const anchors = walked?.report ?? { anchors: 0, problems: [] };
  return {
    incidents,
    anchors,
    ok:
      incidents.every((r) => r.problems.length === 0) &&
      anchors.problems.length === 0 &&
      (anchors.digest?.genuine ?? true),
  };
}

function entryCount(item: ChainItem): number {
  return item.format === 3 && Array.isArray(item.entries) ? item.entries.length : 1;
}
