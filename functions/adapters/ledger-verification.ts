/**
 * The auditor's check: reads every entry of a ledger table and verifies each incident's chain —
 * hashes, seals, links and order — and walks every anchor (anchor-verification.ts); each chain is
 * then checked against the heads the anchors hold, which shows chains cut short, rewritten and
 * re-signed, or forked; incidents the operational table or the anchors know but the ledger does
 * not are named.
 */
import type { KeyObject } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { AnchoredHeadProblem } from '../domain/anchor.ts';
import { checkAnchoredHeads } from '../domain/anchor.ts';
import type { ChainProblem, LedgerEntry, Sealer } from '../domain/ledger.ts';
import { verifyChain } from '../domain/ledger.ts';
import type { AnchorStore } from '../domain/ports.ts';
import type { AnchorLogVerification } from './anchor-verification.ts';
import { tableLogOf, verifyAnchorLog } from './anchor-verification.ts';
import { isClaimItem } from './dynamodb-ledger.ts';

export interface IncidentVerification {
  readonly incidentId: string;
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
  readonly anchors?: AnchorStore;
  /** The ledger signing key's public key: heads and anchors are checked with it alone. */
  readonly publicKey?: KeyObject;
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
  const byIncident = new Map<string, LedgerEntry[]>();
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
      const entry = item as LedgerEntry;
      const list = byIncident.get(entry.incidentId) ?? [];
      list.push(entry);
      byIncident.set(entry.incidentId, list);
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
    const entries = byIncident.get(id) ?? [];
    const problems =
      entries.length === 0 && !anchoredHeads.has(id)
        ? [
            {
              seq: 0,
              problem: 'missing-chain' as const,
              detail: 'the incident exists but has no ledger entries',
            },
          ]
        : [
            ...(await verifyChain(id, entries, sources.sealer, anchoredHeads.get(id))),
            ...(walked && sources.publicKey && entries.length > 0
              ? checkAnchoredHeads(
                  id,
                  tableLogOf(entries),
                  walked.history.signed.get(id) ?? [],
                  sources.publicKey,
                )
              : []),
          ];
    incidents.push({ incidentId: id, entries: entries.length, problems });
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
