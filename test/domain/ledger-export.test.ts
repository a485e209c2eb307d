import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import type { LedgerEntry, LedgerEntryV1 } from '../../functions/domain/ledger.ts';
import {
  isPeriod,
  LEDGER_COLUMNS,
  ledgerCsvHeader,
  ledgerCsvLine,
  ledgerObjectKey,
  ledgerRows,
  periodBounds,
  periodOf,
  periodsBetween,
} from '../../functions/domain/ledger-export.ts';
import { standingEntries } from '../../functions/domain/profit-and-loss.ts';
import type { EntrySpec } from '../support/ledger-chains.ts';
import { confirmedRefund, sealedChain } from '../support/ledger-chains.ts';

const sealer = new FileKeySealer(newKeyFile('export'));
const INC = 'INC-2026-0042';
const incident = { id: INC, title: 'Double charge on renewals', productArea: 'billing' };

const chain = (specs: readonly EntrySpec[]) => sealedChain(INC, specs, sealer, confirmedRefund);

const eur = (minor: number) => ({ minor, currency: 'EUR' });

describe('the rows of an incident’s ledger', () => {
  it('gives one row per Effect Ledger entry, every column from the entry or else the incident', async () => {
    const entries = await chain([
      { kind: 'detection', state: undefined, phase: 'Detect', world: 'RML1' },
      { log: 'decision', kind: 'approval', state: undefined, role: 'ic', decision: 'approve' },
      {
        kind: 'refund',
        amount: eur(1250),
        fee: eur(30),
        obligation: 'tos',
        glCode: '6100',
        effectiveAt: '2026-11-21T09:00:00.000Z',
        counterparty: `cp_${'a'.repeat(32)}`,
        effectId: 'e-1',
        providerRef: 're_123',
        productArea: 'payments',
      },
      { kind: 'ops_labour', state: undefined, detail: { role: 'SRE', minutes: 95, by: 'a@example.com' } },
    ]);
    const rows = ledgerRows(incident, entries);
    expect(rows.map((r) => [r.seq, r.kind])).toEqual([
      [1, 'detection'],
      [3, 'refund'],
      [4, 'ops_labour'],
    ]);
    const refund = entries[2] as LedgerEntry & { id: string };
    expect(rows[1]).toEqual({
      incident_id: INC,
      incident_number: 42,
      incident_title: 'Double charge on renewals',
      seq: 3,
      entry_id: refund.id,
      entry_hash: refund.hash,
      kind: 'refund',
      root_kind: 'refund',
      corrects_id: null,
      state: 'confirmed',
      amount_minor: 1250,
      currency: 'EUR',
      fee_minor: 30,
      fee_currency: 'EUR',
      obligation: 'tos',
      product_area: 'payments',
      gl_code: '6100',
      world: 'RML3',
      phase: 'Act',
      at: '2026-11-22T10:00:02.000Z',
      effective_at: '2026-11-21T09:00:00.000Z',
      counterparty: `cp_${'a'.repeat(32)}`,
      effect_id: 'e-1',
      provider_ref: 're_123',
      labour_role: null,
      labour_minutes: null,
    });
    expect(rows[0]).toMatchObject({
      state: null,
      product_area: 'billing',
      world: 'RML1',
      amount_minor: null,
    });
    expect(rows[2]).toMatchObject({ labour_role: 'SRE', labour_minutes: 95, amount_minor: null });
    // Every column of the schema, and nothing else, in every row.
    for (const row of rows) expect(Object.keys(row)).toEqual(LEDGER_COLUMNS.map((c) => c.name));
  });

  it('resolves corrections: a void names the refund, a second correction names the first, obligation from the root', async () => {
    const entries = await chain([
      { kind: 'refund', amount: eur(1000), obligation: 'brand' },
      { kind: 'correction', amount: undefined, correctsIndex: 0 },
      { kind: 'correction', amount: eur(800), correctsIndex: 0 },
      { kind: 'credit', amount: eur(500), obligation: 'tos' },
    ]);
    const rows = ledgerRows(incident, entries);
    const id = (i: number) => (entries[i] as { id: string }).id;
    expect(rows.map((r) => [r.kind, r.root_kind, r.corrects_id, r.obligation])).toEqual([
      ['refund', 'refund', null, 'brand'],
      ['correction', 'refund', id(0), 'brand'],
      // It names the refund too, which the void already superseded: it supersedes the void.
      ['correction', 'refund', id(1), 'brand'],
      ['credit', 'credit', null, 'tos'],
    ]);
  });

  it('stands exactly where the P&L says an entry stands, for any forest of corrections', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.nat(), { nil: undefined }), { minLength: 1, maxLength: 12 }),
        async (targets) => {
          const specs: EntrySpec[] = targets.map((t, i) =>
            t === undefined || i === 0
              ? { kind: 'refund', amount: eur(100 + i) }
              : { kind: 'correction', amount: eur(i), correctsIndex: t % i },
          );
          const entries = await chain(specs);
          const rows = ledgerRows(incident, entries);
          const named = new Set(rows.map((r) => r.corrects_id));
          const standing = rows.filter((r) => !named.has(r.entry_id)).map((r) => r.seq);
          const roots = new Map(rows.map((r) => [r.seq, r.root_kind]));
          const expected = standingEntries(entries);
          expect(standing).toEqual(expected.map((s) => s.entry.seq));
          for (const s of expected) expect(roots.get(s.entry.seq)).toBe(s.root.kind);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads format 1 entries: ids by seq, legacy states and cost lines', () => {
    const v1 = (seq: number, fields: Partial<LedgerEntryV1>): LedgerEntryV1 => ({
      incidentId: INC,
      seq,
      log: 'effect',
      kind: 'refund',
      world: 'RML3',
      phase: 'Act',
      at: '2025-03-01T10:00:00.000Z',
      actor: 'test',
      idempotencyKey: `k${seq}`,
      summary: 's',
      detail: {},
      prevHash: '0'.repeat(64),
      hash: String(seq).repeat(64).slice(0, 64),
      ...fields,
    });
    const rows = ledgerRows({ id: INC }, [
      v1(2, { kind: 'correction', corrects: 1, status: 'completed' }),
      v1(1, { status: 'completed', amount: eur(700), costLine: 'tos' }),
      v1(3, { status: 'intended', amount: eur(5) }),
    ]);
    expect(rows.map((r) => [r.entry_id, r.corrects_id, r.state, r.obligation, r.root_kind])).toEqual([
      ['seq:1', null, 'confirmed', 'tos', 'refund'],
      ['seq:2', 'seq:1', 'confirmed', 'tos', 'refund'],
      ['seq:3', null, 'intent', null, 'refund'],
    ]);
    expect(rows[0]).toMatchObject({ incident_title: null, product_area: null, effective_at: null });
  });
});

describe('periods', () => {
  it('are months of the recording time, UTC, with their object keys', () => {
    expect(periodOf('2026-11-30T23:59:59.999Z')).toBe('2026-11');
    expect(periodOf('2026-12-01T00:00:00.000Z')).toBe('2026-12');
    expect(periodBounds('2026-12')).toEqual({
      start: '2026-12-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    });
    expect(periodsBetween('2026-11', '2027-02')).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(periodsBetween('2026-12', '2026-11')).toEqual([]);
    expect(ledgerObjectKey('2026-11')).toBe('ledger/v1/period=2026-11/ledger.parquet');
    for (const bad of ['2026-13', '2026-1', '26-11', '2026-11-01', '2026-00', ' 2026-11']) {
      expect(isPeriod(bad), bad).toBe(false);
    }
    expect(() => periodBounds('2026-13')).toThrow('not a period');
  });
});

describe('CSV lines', () => {
  it('quote what needs quoting, leave nulls empty and keep spreadsheet formulas as text', async () => {
    const [entry] = await chain([{ kind: 'refund', amount: eur(-50), productArea: 'a, "b"' }]);
    const [row] = ledgerRows({ id: INC, title: '=HYPERLINK("x")' }, [entry as LedgerEntry]);
    const line = ledgerCsvLine(row as NonNullable<typeof row>);
    const fields = line.split(',');
    expect(ledgerCsvHeader().split(',')).toHaveLength(LEDGER_COLUMNS.length);
    expect(line).toContain(`"'=HYPERLINK(""x"")"`);
    expect(line).toContain('"a, ""b"""');
    expect(fields).toContain('-50');
    expect(line).toContain(',2026-11-22T10:00:00.000Z,,');
  });
});
