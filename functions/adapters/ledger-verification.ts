/**
 * The auditor's check: reads every chain item of a ledger table and verifies each incident's chain —
 * hashes, seals (format 2), Merkle roots and head signatures (format 3), links and order — against
 * the latest anchored digest, which shows chains cut short; incidents the operational table or the
 * digest knows but the ledger does not are named.
 */
import type { KeyObject } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { digestIsGenuine } from '../domain/anchor.ts';
import type { ChainItem, ChainProblem, Sealer } from '../domain/ledger.ts';
import { verifyChain } from '../domain/ledger.ts';
import type { AnchorStore } from '../domain/ports.ts';
import { isClaimItem } from './dynamodb-ledger.ts';

export interface IncidentVerification {
  readonly incidentId: string;
  /** How many entries its chain holds (a format 3 item holds up to 25). */
  readonly entries: number;
  readonly problems: readonly ChainProblem[];
}

export interface LedgerVerification {
  readonly incidents: readonly IncidentVerification[];
  /** The digest the chains were checked against; `genuine: false` when its seal or hash is wrong. */
  readonly anchor?: { readonly key: string; readonly createdAt: string; readonly genuine: boolean };
  readonly ok: boolean;
}

export interface VerifyLedgerSources {
  readonly db: DynamoDBDocumentClient;
  readonly ledgerTable: string;
  readonly sealer: Pick<Sealer, 'verify'>;
  /** The public key that signs format 3 heads (ECDSA P-256): needed once a chain has format 3 items. */
  readonly publicKey?: KeyObject;
  readonly anchors?: AnchorStore;
  /** Every incident id the operational table holds. */
  readonly incidentIds?: () => Promise<readonly string[]>;
}

/** Verifies one incident, or every incident (a consistent scan of the table). */
export async function verifyLedger(
  sources: VerifyLedgerSources,
  options: { readonly incidentId?: string; readonly onProgress?: (done: number, total: number) => void } = {},
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

  const latest = await sources.anchors?.latest();
  const genuine = latest ? await digestIsGenuine(latest.digest, sources.sealer) : false;
  const anchoredHeads = new Map(
    genuine && latest
      ? latest.digest.heads.map((h) => [h.incidentId, { ...h, anchoredAt: latest.digest.createdAt }])
      : [],
  );
  const known = new Set<string>(byIncident.keys());
  for (const id of anchoredHeads.keys()) known.add(id);
  for (const id of (await sources.incidentIds?.()) ?? []) known.add(id);
  const ids = [...known].filter((id) => !incidentId || id === incidentId).sort();

  const incidents: IncidentVerification[] = [];
  for (const [i, id] of ids.entries()) {
    const items = byIncident.get(id) ?? [];
    const problems =
      items.length === 0 && !anchoredHeads.has(id)
        ? [
            {
              seq: 0,
              problem: 'missing-chain' as const,
              detail: 'the incident exists but has no ledger entries',
            },
          ]
        : await verifyChain(
            id,
            items,
            { sealer: sources.sealer, ...(sources.publicKey ? { publicKey: sources.publicKey } : {}) },
            anchoredHeads.get(id),
          );
    const entries = items.reduce((n, item) => n + entryCount(item), 0);
    incidents.push({ incidentId: id, entries, problems });
    options.onProgress?.(i + 1, ids.length);
  }
  return {
    incidents,
    ...(latest ? { anchor: { key: latest.key, createdAt: latest.digest.createdAt, genuine } } : {}),
    ok: incidents.every((r) => r.problems.length === 0) && (!latest || genuine),
  };
}

function entryCount(item: ChainItem): number {
  return item.format === 3 && Array.isArray(item.entries) ? item.entries.length : 1;
}
