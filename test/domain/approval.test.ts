import { describe, expect, it } from 'vitest';
import {
  formatApprovalId,
  hashLinkSecret,
  linkSecretMatches,
  newLinkSecret,
  parseApprovalId,
  parseDecisionForm,
} from '../../functions/domain/approval.ts';
import { InvalidInputError } from '../../functions/domain/errors.ts';

describe('approval links', () => {
  it('round-trips an approval id and checks its secret against the stored hash only', () => {
    const secret = newLinkSecret();
    const id = formatApprovalId({ incidentId: 'INC-2026-0042', round: 3, role: 'legal', secret });
    expect(parseApprovalId(id)).toEqual({ incidentId: 'INC-2026-0042', round: 3, role: 'legal', secret });
    const stored = hashLinkSecret(secret);
    expect(stored).not.toContain(secret);
    expect(linkSecretMatches(secret, stored)).toBe(true);
    expect(linkSecretMatches(newLinkSecret(), stored)).toBe(false);
  });

  it('refuses malformed ids, unknown roles and short secrets', () => {
    const secret = newLinkSecret();
    expect(parseApprovalId(`INC-2026-0042.1.ceo.${secret}`)).toBeUndefined();
    expect(parseApprovalId('INC-2026-0042.1.legal.short')).toBeUndefined();
    expect(parseApprovalId(`../INC-2026-0042.1.legal.${secret}`)).toBeUndefined();
    expect(parseApprovalId(`INC-2026-0042.1.legal.${secret}A`)).toBeUndefined();
  });

  it('gives each approval exactly one link: no leading zeros, no oversized ids or rounds', () => {
    const secret = newLinkSecret();
    expect(parseApprovalId(`INC-2026-0042.1.legal.${secret}`)).toBeDefined();
    expect(parseApprovalId(`INC-2026-0042.9999.legal.${secret}`)).toBeDefined();
    for (const id of [
      `INC-2026-0042.01.legal.${secret}`,
      `INC-2026-0042.0.legal.${secret}`,
      `INC-2026-0042.10000.legal.${secret}`,
      `INC-2026-00042.1.legal.${secret}`,
      `INC-2026-${'1'.repeat(2100)}.1.legal.${secret}`,
    ]) {
      expect(parseApprovalId(id), id).toBeUndefined();
    }
  });
});

describe('the decision form', () => {
  it('accepts an approval without a comment', () => {
    expect(parseDecisionForm({ decision: 'approve', name: ' Ada Lovelace ' })).toEqual({
      decision: 'approve',
      name: 'Ada Lovelace',
      comment: '',
    });
  });

  it('requires a reason to reject and a name always, naming each field', () => {
    try {
      parseDecisionForm({ decision: 'reject', name: '' });
      throw new Error('expected a rejection');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues.map((i) => i.field)).toEqual(['name', 'comment']);
    }
    expect(() => parseDecisionForm({ decision: 'maybe', name: 'x' })).toThrow(/decision/);
  });
});
