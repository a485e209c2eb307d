/**
 * A ledger with known totals: a refund and its void, a refund replaced by a smaller one, goodwill
 * credits, labour in two roles (one without a rate) and a manual labour entry with its amount, a
 * legal fee, three currencies, ToS and brand lines, an entry recorded in December for November,
 * an in-flight refund, a failed one, and an incident with no time. Sealed entries as the ledger
 * writes them, exported by the export's own row builder and Parquet writer.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileSink } from '../../functions/adapters/byte-sinks.ts';
import type { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import type { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import { writeLedgerParquet } from '../../functions/adapters/parquet-ledger.ts';
import { classify } from '../../functions/domain/alert.ts';
import { formatIncidentId, openIncident } from '../../functions/domain/incident.ts';
import type { LedgerEntry, LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { ExportedIncident, LedgerRow } from '../../functions/domain/ledger-export.ts';
import { ledgerObjectKey, ledgerRows, periodOf } from '../../functions/domain/ledger-export.ts';
import { plainAlert } from './incidents.ts';
import type { EntrySpec } from './ledger-chains.ts';
import { sealedChain } from './ledger-chains.ts';

const sealer = new FileKeySealer(newKeyFile('finance-fixture'));

const base =
  (day: string) =>
  (n: number): LedgerEntryDraft => ({
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: new Date(Date.parse(`${day}T09:00:00.000Z`) + n * 60_000).toISOString(),
    actor: 'casebook (Act)',
    idempotencyKey: `k${n}`,
    summary: `entry ${n}`,
    detail: {},
  });

const time = (role: string, minutes: number, at: string): EntrySpec => ({
  kind: 'ops_labour',
  world: 'RML2',
  phase: 'Contain',
  at,
  summary: `${minutes} min of ${role} work`,
  detail: { minutes, role, by: 'sre@example.com' },
});

const eur = (minor: number) => ({ minor, currency: 'EUR' });

/** One incident of the fixture: what the export reads of it, the day its entries start, its entries. */
export interface FixtureIncident {
  readonly incident: ExportedIncident;
  readonly day: string;
  readonly specs: readonly EntrySpec[];
}

/** The fixture's incidents and their entries, by position (a correction names an earlier one by index). */
export const FIXTURE: readonly FixtureIncident[] = [
  {
    incident: { id: 'INC-2026-1', title: 'Double charge', productArea: 'payments' },
    day: '2026-11-10',
    specs: [
      { state: 'intent', amount: eur(2500), obligation: 'tos', effectId: 'e1' },
      {
        state: 'confirmed',
        amount: eur(2500),
        obligation: 'tos',
        effectId: 'e1',
        effectiveAt: '2026-11-10T09:01:00.000Z',
      },
      { state: 'confirmed', amount: eur(4000), obligation: 'tos', effectId: 'e2' },
      { kind: 'correction', state: 'confirmed', correctsIndex: 2, summary: 'refund e2 voided: sent twice' },
      { kind: 'credit', state: 'confirmed', amount: eur(1500), obligation: 'brand', effectId: 'e3' },
      time('SRE', 90, '2026-11-11T11:00:00.000Z'),
      time('sre', 45, '2026-11-12T11:00:00.000Z'),
      time('Comms', 30, '2026-11-12T12:00:00.000Z'),
      { kind: 'legal_fee', state: 'confirmed', amount: eur(50000), phase: 'Learn', glCode: '6420' },
      { state: 'intent', amount: eur(3000), obligation: 'tos', effectId: 'e4' },
      { state: 'confirmed', amount: { minor: 1999, currency: 'USD' }, obligation: 'tos', effectId: 'e5' },
    ],
  },
  {
    incident: { id: 'INC-2026-2', title: 'Wrong notice', productArea: 'notices' },
    day: '2026-12-02',
    specs: [
      {
        kind: 'credit',
        state: 'confirmed',
        amount: { minor: 700, currency: 'USD' },
        obligation: 'brand',
        effectId: 'f1',
        effectiveAt: '2026-11-28T15:00:00.000Z',
      },
      { state: 'confirmed', amount: eur(1000), obligation: 'tos', effectId: 'f2' },
      { kind: 'correction', state: 'confirmed', amount: eur(800), correctsIndex: 1, summary: 'f2 was 8.00' },
      { kind: 'ops_labour', state: 'confirmed', amount: eur(6000), phase: 'Learn', detail: { hours: '0.5' } },
      { state: 'failed', amount: eur(999), obligation: 'tos', effectId: 'f3' },
    ],
  },
  {
    incident: { id: 'INC-2026-3', title: 'Courier fee', productArea: 'shipping' },
    day: '2026-12-05',
    specs: [
      {
        kind: 'other_cost',
        state: 'confirmed',
        amount: { minor: 2000, currency: 'GBP' },
        obligation: 'brand',
      },
    ],
  },
];

/** The n-th entry of an incident's fixture, whole, as a use case would draft it. */
export function fixtureDraft(
  day: string,
  n: number,
  spec: Omit<EntrySpec, 'correctsIndex'>,
): LedgerEntryDraft {
  return { ...base(day)(n), ...spec };
}

/** The incidents of the fixture and their whole logs, sealed as the ledger seals them. */
export async function fixtureLedger(): Promise<{ incident: ExportedIncident; entries: LedgerEntry[] }[]> {
  const out: { incident: ExportedIncident; entries: LedgerEntry[] }[] = [];
  for (const { incident, day, specs } of FIXTURE)
    out.push({ incident, entries: await sealedChain(incident.id, specs, sealer, base(day)) });
  return out;
}

/** `CASEBOOK_LABOUR_RATES` for the fixture: SRE has a rate, Comms has none. */
export const FIXTURE_LABOUR_RATES = { SRE: { amount: '120.00', currency: 'EUR' } };

/**
 * Writes the incidents' rows under `dir` as the exports bucket lays them out, one object per month
 * of `at` (`ledger/v1/period=YYYY-MM/ledger.parquet`); answers the files.
 */
export async function exportToDir(
  dir: string,
  ledger: readonly { incident: ExportedIncident; entries: readonly LedgerEntry[] }[],
): Promise<string[]> {
  const byPeriod = new Map<string, LedgerRow[]>();
  for (const { incident, entries } of ledger)
    for (const row of ledgerRows(incident, entries)) {
      const period = periodOf(row.at);
      byPeriod.set(period, [...(byPeriod.get(period) ?? []), row]);
    }
  const files: string[] = [];
  for (const [period, rows] of [...byPeriod].sort(([a], [b]) => a.localeCompare(b))) {
    const file = join(dir, ledgerObjectKey(period));
    mkdirSync(dirname(file), { recursive: true });
    await writeLedgerParquet(rows, new FileSink(file));
    files.push(file);
  }
  return files;
}

/** The fixture's known P&L by category, as `casebook pnl --format csv` prints it. */
export const FIXTURE_PNL_CSV = [
  'category,currency,amount,amount_minor,entries,minutes',
  'refunds,EUR,33.00,3300,2,',
  'refunds,USD,19.99,1999,1,',
  'goodwill_credits,EUR,15.00,1500,1,',
  'goodwill_credits,USD,7.00,700,1,',
  'ops_labour,EUR,330.00,33000,3,',
  'legal_fees,EUR,500.00,50000,1,',
  'other_costs,GBP,20.00,2000,1,',
  'unassigned,,unpriced,,1,30',
  '',
].join('\n');

/** What {@link seedFixtureLedger} appended: per incident id, each entry's id and seq by position. */
export type SeededFixture = ReadonlyMap<string, readonly { readonly id: string; readonly seq: number }[]>;

/**
 * The fixture in a real operational table and ledger (a running stack's, or dynalite's): each
 * incident opened as `INC-2026-<n>`, its entries appended in order, a correction naming the entry
 * its index points at.
 */
export async function seedFixtureLedger(
  store: Pick<DynamoDbOperationsStore, 'createIncident'>,
  ledger: Pick<DynamoDbLedger, 'append'>,
): Promise<SeededFixture> {
  const seeded = new Map<string, { id: string; seq: number }[]>();
  for (const [i, { incident, day, specs }] of FIXTURE.entries()) {
    const id = formatIncidentId(2026, i + 1);
    await store.createIncident({
      ...openIncident(id, plainAlert(i + 1), classify({}), `${day}T08:00:00.000Z`),
      ...(incident.productArea ? { productArea: incident.productArea } : {}),
    });
    const written: { id: string; seq: number }[] = [];
    for (const [n, { correctsIndex, ...spec }] of specs.entries()) {
      const target = correctsIndex === undefined ? undefined : written[correctsIndex];
      const { entry } = await ledger.append(id, {
        ...fixtureDraft(day, n, spec),
        ...(target ? { corrects: target } : {}),
      });
      written.push({ id: (entry as { id: string }).id, seq: entry.seq });
    }
    seeded.set(id, written);
  }
  return seeded;
}
