import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../functions/domain/ledger-export.ts';
import type { ProviderMovement } from '../../functions/domain/reconciliation.ts';
import { ledgerEffects, parseEffectKey, reconcile } from '../../functions/domain/reconciliation.ts';

const INC = 'INC-2026-0042';
let seq = 0;

function row(over: Partial<LedgerRow>): LedgerRow {
  seq += 1;
  return {
    incident_id: INC,
    incident_number: 42,
    incident_title: null,
    seq,
    entry_id: `E${seq}`,
    entry_hash: 'h',
    kind: 'refund',
    root_kind: 'refund',
    corrects_id: null,
    state: 'confirmed',
    amount_minor: 1200,
    currency: 'EUR',
    fee_minor: null,
    fee_currency: null,
    obligation: null,
    product_area: null,
    gl_code: null,
    world: 'RML3',
    phase: 'Act',
    at: '2026-11-10T10:00:00.000Z',
    effective_at: '2026-11-10T10:00:00.000Z',
    counterparty: null,
    effect_id: 'P1-E1',
    provider_ref: 're_1',
    labour_role: null,
    labour_minutes: null,
    ...over,
  };
}

const refund = (over: Partial<ProviderMovement>): ProviderMovement => ({
  id: 're_1',
  kind: 'refund',
  amountMinor: 1200,
  currency: 'eur',
  state: 'succeeded',
  effectKey: `${INC}:P1-E1:1`,
  feeMinor: 0,
  netMinor: -1200,
  ...over,
});

const kinds = (rows: LedgerRow[], provider: ProviderMovement[]) =>
  reconcile(rows, provider).differences.map((d) => d.kind);

describe('reconciling the ledger with the provider', () => {
  it('matches a settled refund by its provider reference: nothing to say', () => {
    const result = reconcile([row({})], [refund({})]);
    expect(result).toEqual({ matched: 1, unrelated: 0, differences: [] });
  });

  it('matches by the effect key when the entry has no provider reference', () => {
    const result = reconcile([row({ provider_ref: null })], [refund({ id: 're_9' })]);
    expect(result.matched).toBe(1);
    expect(result.differences).toEqual([]);
  });

  it('matches a manual refund, recorded by hand, by its provider reference alone', () => {
    const manual = row({ effect_id: null, provider_ref: 're_hand', phase: 'Manual' });
    const result = reconcile([manual], [refund({ id: 're_hand', effectKey: undefined })]);
    expect(result).toEqual({ matched: 1, unrelated: 0, differences: [] });
  });

  it('names a refund that failed at the provider after the ledger recorded it confirmed', () => {
    const [d] = reconcile(
      [row({})],
      [refund({ state: 'failed', failureReason: 'expired_or_canceled_card' })],
    ).differences;
    expect(d).toMatchObject({
      kind: 'failed-after-confirmed',
      incidentId: INC,
      effectId: 'P1-E1',
      providerId: 're_1',
      ledger: { state: 'confirmed', amountMinor: 1200, currency: 'EUR' },
      provider: {
        state: 'failed',
        amountMinor: 1200,
        currency: 'EUR',
        failureReason: 'expired_or_canceled_card',
      },
    });
    expect(d?.detail).toContain('expired_or_canceled_card');
  });

  it('names pending against settled, both ways', () => {
    expect(kinds([row({})], [refund({ state: 'pending' })])).toEqual(['pending-vs-settled']);
    expect(kinds([row({ state: 'executed' })], [refund({})])).toEqual(['pending-vs-settled']);
    expect(kinds([row({ state: 'executed' })], [refund({ state: 'pending' })])).toEqual([]);
  });

  it('names a provider refund with a Casebook key that the ledger lacks', () => {
    const result = reconcile([], [refund({ id: 're_ghost', effectKey: `${INC}:P2-E3:1` })]);
    expect(result.differences).toEqual([
      expect.objectContaining({
        kind: 'missing-from-ledger',
        incidentId: INC,
        effectId: 'P2-E3',
        providerId: 're_ghost',
      }),
    ]);
  });

  it('names a ledger refund the provider does not know, but not one only intended or refused', () => {
    expect(kinds([row({})], [])).toEqual(['unknown-to-provider']);
    expect(kinds([row({ state: 'intent', provider_ref: null })], [])).toEqual([]);
    expect(kinds([row({ state: 'failed', provider_ref: null })], [])).toEqual([]);
  });

  it('names amount and currency differences, and the provider’s fees', () => {
    expect(kinds([row({})], [refund({ amountMinor: 1100 })])).toEqual(['amount-differs']);
    expect(kinds([row({})], [refund({ currency: 'usd' })])).toEqual(['currency-differs']);
    expect(kinds([row({})], [refund({ feeMinor: 35 })])).toEqual(['fee']);
    expect(kinds([row({ fee_minor: 35, fee_currency: 'EUR' })], [refund({ feeMinor: 35 })])).toEqual([]);
  });

  it('does not flag an unrelated support refund: no key, no known reference', () => {
    const result = reconcile([row({})], [refund({}), refund({ id: 're_support', effectKey: undefined })]);
    expect(result).toEqual({ matched: 1, unrelated: 1, differences: [] });
  });

  it('takes the effect as it stands: the last entry, a voided one not at all', () => {
    const intent = row({ state: 'intent', provider_ref: null });
    const confirmed = row({ state: 'confirmed' });
    expect(ledgerEffects([intent, confirmed]).map((e) => e.row.entry_id)).toEqual([confirmed.entry_id]);
    const voided = row({
      kind: 'correction',
      corrects_id: confirmed.entry_id,
      amount_minor: 0,
      state: null,
      provider_ref: null,
    });
    expect(kinds([intent, confirmed, voided], [])).toEqual([]);
  });

  it('leaves a ledger credit alone when the provider side covers refunds only', () => {
    const credit = row({ kind: 'credit', root_kind: 'credit', provider_ref: 'cus_1/cbtxn_1' });
    expect(reconcile([credit], [], ['refund']).differences).toEqual([]);
    expect(kinds([credit], [])).toEqual(['unknown-to-provider']);
  });

  it('of several attempts at the provider, matches the latest; an earlier one that failed is explained, one that did not is named', () => {
    const first = (state: ProviderMovement['state']) =>
      refund({ id: 're_first', state, effectKey: `${INC}:P1-E1:1` });
    const second = refund({ id: 're_second', effectKey: `${INC}:P1-E1:2` });
    const ledger = [row({ provider_ref: null })];
    expect(reconcile(ledger, [first('failed'), second])).toEqual({
      matched: 1,
      unrelated: 0,
      differences: [],
    });
    expect(
      reconcile(ledger, [first('succeeded'), second]).differences.map((d) => [d.kind, d.providerId]),
    ).toEqual([['missing-from-ledger', 're_first']]);
  });

  it('reads effect keys as Act writes them', () => {
    expect(parseEffectKey(`${INC}:P1-E3:2`)).toEqual({ incidentId: INC, effectId: 'P1-E3', attempt: 2 });
    expect(parseEffectKey('order-1234')).toBeUndefined();
  });

  it('every refund the ledger took matches itself at the provider: no difference (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            amount: fc.integer({ min: 1, max: 10_000_000 }),
            byRef: fc.boolean(),
            unrelated: fc.boolean(),
          }),
          { maxLength: 20 },
        ),
        (specs) => {
          const rows: LedgerRow[] = [];
          const provider: ProviderMovement[] = [];
          specs.forEach((s, i) => {
            rows.push(
              row({
                effect_id: `P1-E${i}`,
                provider_ref: s.byRef ? `re_${i}` : null,
                amount_minor: s.amount,
              }),
            );
            provider.push(refund({ id: `re_${i}`, amountMinor: s.amount, effectKey: `${INC}:P1-E${i}:1` }));
            if (s.unrelated) provider.push(refund({ id: `re_s${i}`, effectKey: undefined }));
          });
          const result = reconcile(rows, provider);
          expect(result.differences).toEqual([]);
          expect(result.matched).toBe(specs.length);
          expect(result.unrelated).toBe(specs.filter((s) => s.unrelated).length);
        },
      ),
    );
  });

  it('a changed amount is always named, with both amounts (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e9 }), (a, b) => {
        fc.pre(a !== b);
        const [d] = reconcile([row({ amount_minor: a })], [refund({ amountMinor: b })]).differences;
        expect(d).toMatchObject({
          kind: 'amount-differs',
          ledger: { amountMinor: a },
          provider: { amountMinor: b },
        });
      }),
    );
  });
});
