import { describe, expect, it } from 'vitest';
import type { Approval } from '../../functions/domain/approval.ts';
import {
  approverAt,
  formatApprovalId,
  hashLinkSecret,
  linkSecretMatches,
  newLinkSecret,
  parseApprovalId,
  parseDecisionForm,
  seatOfSecret,
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

describe("a role's two links: the primary's, and the backup's once asked", () => {
  it('tells whose link a secret is, and neither for any other', () => {
    const primary = newLinkSecret();
    const backup = newLinkSecret();
    const approval = {
      approverEmail: 'lee@example.com',
      approverName: 'Lee Legal',
      linkSecretHash: hashLinkSecret(primary),
    } as Approval;
    expect(seatOfSecret(approval, primary)).toBe('primary');
    expect(seatOfSecret(approval, backup)).toBeUndefined();
    const asked: Approval = {
      ...approval,
      backup: {
        email: 'lou@example.com',
        name: 'Lou Legal',
        requestedAt: '2026-11-25T09:00:00.000Z',
        linkSecretHash: hashLinkSecret(backup),
      },
    };
    expect(seatOfSecret(asked, primary)).toBe('primary');
    expect(seatOfSecret(asked, backup)).toBe('backup');
    expect(seatOfSecret(asked, newLinkSecret())).toBeUndefined();
    expect(approverAt(asked, 'backup')).toEqual({ email: 'lou@example.com', name: 'Lou Legal' });
    expect(approverAt(asked, 'primary')).toEqual({ email: 'lee@example.com', name: 'Lee Legal' });
    // No backup asked: the backup seat is nobody new.
    expect(approverAt(approval, 'backup')).toEqual({ email: 'lee@example.com', name: 'Lee Legal' });
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
