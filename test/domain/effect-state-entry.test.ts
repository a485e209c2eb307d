/**
 * The ledger entry of an effect reaching a state: Act's and a person's resend are one shape, so an
 * auditor reads the same key, parties and money lines whoever moved the effect; only who, why and
 * on what basis differ.
 */
import { describe, expect, it } from 'vitest';
import { type EffectRecord, effectStateEntry } from '../../functions/domain/effects.ts';
import { ledgerDraftSchema } from '../../functions/domain/ledger.ts';

const refund: EffectRecord = {
  effectId: 'P2-E3',
  planVersion: 2,
  kind: 'refund',
  customerRef: 'cus_ada',
  counterparty: 'cp_7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a',
  world: 'RML1',
  safety: 'SAFE_REVERSIBLE',
  obligation: 'tos',
  amount: { currency: 'EUR', minor: 2500 },
  productArea: 'billing',
  progress: 'intent',
  attempt: 2,
};
const planHash = 'a'.repeat(64);

describe("an effect's ledger entry", () => {
  it("keys Act's entry by effect, attempt and state, and carries the effect's money lines and the provider's", () => {
    const entry = effectStateEntry(refund, 'confirmed', {
      at: '2026-12-07T10:00:00.000Z',
      actor: 'casebook (Act)',
      basis: { planVersion: 2, planHash },
      providerRef: 're_123',
      effectiveAt: '2026-12-07T10:00:01.000Z',
      fee: { currency: 'EUR', minor: 30 },
    });
    expect(ledgerDraftSchema.parse(entry)).toEqual(entry);
    expect(entry).toEqual({
      log: 'effect',
      kind: 'refund',
      world: 'RML1',
      phase: 'Act',
      at: '2026-12-07T10:00:00.000Z',
      actor: 'casebook (Act)',
      idempotencyKey: 'effect:P2-E3:2:confirmed',
      summary: 'refund P2-E3 for cp_7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a: confirmed',
      effectId: 'P2-E3',
      state: 'confirmed',
      counterparty: 'cp_7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a',
      obligation: 'tos',
      amount: { currency: 'EUR', minor: 2500 },
      productArea: 'billing',
      providerRef: 're_123',
      effectiveAt: '2026-12-07T10:00:01.000Z',
      fee: { currency: 'EUR', minor: 30 },
      basis: { planVersion: 2, planHash },
      detail: { attempt: 2 },
    });
  });

  it("a person's move differs only in who, the summary's note, the basis and the detail beside the attempt", () => {
    const common = { at: '2026-12-07T10:00:00.000Z' };
    const act = effectStateEntry(refund, 'intent', {
      ...common,
      actor: 'casebook (Act)',
      basis: { planVersion: 2, planHash },
    });
    const person = effectStateEntry(refund, 'intent', {
      ...common,
      actor: 'oncall@example.com',
      note: 'attempt 2, to another address from the customer list',
      basis: { decisionSeq: 9, planVersion: 2, planHash },
      detail: { resendOf: 1, provider: 'ses' },
    });
    expect(ledgerDraftSchema.parse(person)).toEqual(person);
    expect(person).toEqual({
      ...act,
      actor: 'oncall@example.com',
      summary:
        'refund P2-E3 for cp_7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a: intent (attempt 2, to another address from the customer list)',
      basis: { decisionSeq: 9, planVersion: 2, planHash },
      detail: { attempt: 2, resendOf: 1, provider: 'ses' },
    });
    // An effect without money or product area writes neither field, not an empty one.
    const notice = effectStateEntry(
      { ...refund, kind: 'notice', amount: undefined, productArea: undefined },
      'failed',
      { ...common, actor: 'casebook (Act)', basis: { planVersion: 2, planHash } },
    );
    expect(Object.keys(notice)).not.toContain('amount');
    expect(Object.keys(notice)).not.toContain('productArea');
    expect(Object.keys(notice)).not.toContain('providerRef');
  });
});
