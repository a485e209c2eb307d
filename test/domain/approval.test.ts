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
    // 256 bits, base64url: 43 characters; the 192-bit secrets of old are refused.
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(parseApprovalId(`INC-2026-0042.1.legal.${secret.slice(0, 32)}`)).toBeUndefined();
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
  it('accepts an approval without a comment, and asks for no name: the roster has it', () => {
    expect(parseDecisionForm({ decision: 'approve', name: 'ignored' })).toEqual({
      decision: 'approve',
      comment: '',
      basis: '',
    });
    expect(
      parseDecisionForm({ decision: 'request-changes', comment: ' Add a credit ', basis: ' ToS §7.2 ' }),
    ).toEqual({
      decision: 'request-changes',
      comment: 'Add a credit',
      basis: 'ToS §7.2',
    });
  });

  it('requires a reason to reject or to ask for changes, naming each field', () => {
    for (const decision of ['reject', 'request-changes']) {
      try {
        parseDecisionForm({ decision, comment: '  ', basis: 'b'.repeat(501) });
        throw new Error('expected a rejection');
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        expect((error as InvalidInputError).issues.map((i) => i.field)).toEqual(['comment', 'basis']);
      }
    }
    expect(() => parseDecisionForm({ decision: 'maybe' })).toThrow(/decision/);
    expect(() => parseDecisionForm({})).toThrow(/approve, reject, request-changes/);
  });
});
