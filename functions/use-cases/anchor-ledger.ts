/**
 * Use case: anchor the ledger — write a sealed digest of every incident's chain head where the
 * table's writers cannot reach it (on a schedule, when an incident closes, or on demand).
 *
 * Primary course:
 *  1. Gather the incidents: every one in the operational table, and every one the previous digest
 *     anchored (so an incident whose records were deleted stays anchored and verification names it).
 *  2. Read each chain's head; a chain that is gone keeps the head the previous digest gave it.
 *  3. Seal a digest that names the previous one, and put it.
 */
import type { AnchoredChain } from '../domain/anchor.ts';
import { digestKey, makeDigest } from '../domain/anchor.ts';
import type { Sealer } from '../domain/ledger.ts';
import type { AnchorStore, Clock, IncidentStore, Ledger } from '../domain/ports.ts';

export interface AnchorLedgerDeps {
  readonly incidents: Pick<IncidentStore, 'listIncidents'>;
  readonly ledger: Pick<Ledger, 'readHead'>;
  readonly anchors: AnchorStore;
  readonly sealer: Sealer;
  readonly clock: Clock;
}

export interface AnchorResult {
  readonly key: string;
  readonly chains: number;
}

export async function anchorLedger(deps: AnchorLedgerDeps, reason: string): Promise<AnchorResult> {
  // 1.
  const previous = await deps.anchors.latest();
  const ids = new Set(previous?.digest.heads.map((h) => h.incidentId) ?? []);
  for (const id of await everyIncidentId(deps.incidents)) ids.add(id);

  // 2.
  const before = new Map(previous?.digest.heads.map((h) => [h.incidentId, h]) ?? []);
  const heads: AnchoredChain[] = [];
  for (const incidentId of ids) {
    const head = await deps.ledger.readHead(incidentId);
    const kept = head ? { incidentId, ...head } : before.get(incidentId);
    if (kept) heads.push(kept);
  }

  // 3.
  const digest = await makeDigest(heads, deps.clock.now().toISOString(), reason, previous, deps.sealer);
  const key = digestKey(digest.createdAt, digest.hash);
  await deps.anchors.put(key, digest);
  return { key, chains: heads.length };
}

/** Every incident id in the operational table, page by page. */
export async function everyIncidentId(incidents: Pick<IncidentStore, 'listIncidents'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await incidents.listIncidents(100, cursor);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}
