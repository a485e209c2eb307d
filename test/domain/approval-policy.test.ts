import { describe, expect, it } from 'vitest';
import type { RoundRule, Vote } from '../../functions/domain/approval-policy.ts';
import {
  DEFAULT_ROUND_RULES,
  describeRule,
  evaluateRound,
  parseApprovalPolicy,
  roundRuleFor,
} from '../../functions/domain/approval-policy.ts';

const FALLBACK = { legal: 'legal@example.com', business: 'business@example.com', sre: 'sre@example.com' };

function policy(raw: unknown, fallback: Partial<typeof FALLBACK> = FALLBACK) {
  const result = parseApprovalPolicy(raw, fallback);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.policy;
}

function problems(raw: unknown, fallback: Partial<typeof FALLBACK> = FALLBACK): readonly string[] {
  const result = parseApprovalPolicy(raw, fallback, (r) => `CASEBOOK_APPROVER_${r.toUpperCase()}`);
  return result.ok ? [] : result.problems;
}

const vote = (role: Vote['role'], decision: Vote['decision'], comment = ''): Vote => ({
  role,
  decision,
  comment,
});

describe('the approval policy as configured', () => {
  it('without configuration asks by seed 001, from the fallback addresses, named by role', () => {
    const p = policy(undefined);
    expect(p.sizes).toEqual(DEFAULT_ROUND_RULES);
    expect(roundRuleFor(p, 'small', 'SEV2').roles).toEqual(['sre', 'business']);
    expect(roundRuleFor(p, 'medium', 'SEV2').roles).toEqual(['legal', 'business', 'sre']);
    expect(roundRuleFor(p, 'large', 'SEV1')).toEqual({
      roles: ['legal', 'business', 'sre'],
      quorum: 3,
      veto: ['legal'],
    });
    expect(p.roster.legal).toEqual({ primary: { email: 'legal@example.com', name: 'Legal approver' } });
    expect(p.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('takes the roster, rules by size and by severity, and defaults the quorum to every role asked', () => {
    const p = policy({
      approvers: {
        legal: {
          primary: { email: 'lee@example.com', name: 'Lee Legal' },
          backup: { email: 'lou@example.com', name: 'Lou Legal' },
        },
      },
      sizes: { medium: { roles: ['legal', 'business', 'sre'], quorum: 2, veto: ['legal'] } },
      severities: { SEV1: { small: { roles: ['sre', 'business', 'legal'] } } },
    });
    expect(p.roster.legal?.backup?.name).toBe('Lou Legal');
    expect(p.roster.sre?.primary.email).toBe('sre@example.com');
    expect(roundRuleFor(p, 'medium', 'SEV3')).toEqual({
      roles: ['legal', 'business', 'sre'],
      quorum: 2,
      veto: ['legal'],
    });
    expect(roundRuleFor(p, 'small', 'SEV1')).toEqual({
      roles: ['sre', 'business', 'legal'],
      quorum: 3,
      veto: [],
    });
    expect(roundRuleFor(p, 'small', 'SEV2')).toEqual(DEFAULT_ROUND_RULES.small);
  });

  it('gives the same policy the same version, and another policy another', () => {
    const a = policy({ sizes: { small: { roles: ['sre'] } } });
    const b = policy({ sizes: { small: { roles: ['sre'], quorum: 1 } } });
    const c = policy({ sizes: { small: { roles: ['sre', 'business'], quorum: 1 } } });
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
    expect(policy(undefined).version).not.toBe(
      policy(undefined, { ...FALLBACK, sre: 'x@example.com' }).version,
    );
  });

  it('lists every problem at once, each with where it is', () => {
    const found = problems(
      {
        approvers: {
          legal: { primary: { email: 'not-an-address', name: '' } },
          business: {
            primary: { email: 'bo@example.com', name: 'Bo' },
            backup: { email: 'BO@example.com', name: 'Bo again' },
          },
          cfo: { primary: { email: 'c@example.com', name: 'C' } },
        },
        sizes: {
          small: { roles: ['sre', 'sre'], quorum: 3 },
          large: { roles: ['legal', 'business', 'sre'], quorum: 1, veto: ['legal', 'business'] },
          huge: { roles: ['legal'] },
        },
        severities: {
          SEV9: {},
          SEV1: { small: { roles: [], quorum: 0.5 } },
          SEV2: { medium: { roles: ['legal', 'business'], veto: ['sre'] } },
        },
        deadline: 3,
      },
      { legal: 'legal@example.com' },
    );
    const expected = [
      /^approvers\.legal\.primary\.email must be an email address$/,
      /^approvers\.legal\.primary\.name is required$/,
      /^approvers\.business\.backup must be someone other than the primary$/,
      /^approvers (.*)cfo/,
      /^sizes\.small\.roles names sre twice$/,
      /^sizes\.small\.quorum is 3, more than the 1 role asked$/,
      /^sizes\.large\.quorum is 1, fewer than the 2 veto roles/,
      /^sizes (.*)huge/,
      /^severities (.*)SEV9/,
      /^severities\.SEV1\.small\.roles must name at least one role$/,
      /^severities\.SEV1\.small\.quorum must be a whole number$/,
      /^severities\.SEV2\.medium\.veto names sre, who is not among the roles$/,
      /^\(policy\) (.*)deadline/,
      // sre is asked by the default medium rule (the small and large ones given are broken, and ask
      // nobody), and has nobody; legal's seat is broken (reported above), not missing.
      /^approvers\.sre is required: sizes\.medium asks sre \(or set CASEBOOK_APPROVER_SRE\)$/,
    ];
    for (const pattern of expected)
      expect(
        found.some((p) => pattern.test(p)),
        String(pattern),
      ).toBe(true);
    expect(found.some((p) => p.startsWith('approvers.legal is required'))).toBe(false);
    expect(found).toHaveLength(expected.length);
  });

  it('names a role that a rule asks and nobody seats, with every rule that asks it', () => {
    expect(problems(undefined, { legal: 'l@example.com', business: 'b@example.com' })).toEqual([
      'approvers.sre is required: sizes.small, sizes.medium, sizes.large ask sre (or set CASEBOOK_APPROVER_SRE)',
    ]);
    // A role no rule asks needs nobody.
    expect(
      problems(
        { sizes: { medium: { roles: ['business', 'sre'] }, large: { roles: ['sre'] } } },
        {
          business: 'b@example.com',
          sre: 's@example.com',
        },
      ),
    ).toEqual([]);
  });

  it('refuses what is not a policy object', () => {
    expect(problems('small: sre')).toEqual([expect.stringMatching(/^\(policy\) /)]);
    expect(problems([])).toEqual([expect.stringMatching(/^\(policy\) /)]);
  });

  it('describes a rule as people read it', () => {
    expect(describeRule(DEFAULT_ROUND_RULES.small)).toBe('SRE and Business; 2 of 2 must approve');
    expect(describeRule(DEFAULT_ROUND_RULES.large)).toBe(
      'Legal, Business and SRE; 3 of 3 must approve; Legal holds a veto',
    );
  });
});

describe('evaluating a round', () => {
  const twoOfThree: RoundRule = { roles: ['legal', 'business', 'sre'], quorum: 2, veto: [] };
  const twoOfThreeLegalVeto: RoundRule = { ...twoOfThree, veto: ['legal'] };

  it('stays open until the quorum is reached, and is approved the moment it is', () => {
    const rule = DEFAULT_ROUND_RULES.small;
    expect(evaluateRound(rule, [])).toEqual({ state: 'open', approvals: 0, waitingOn: ['sre', 'business'] });
    expect(evaluateRound(rule, [vote('sre', 'approve')])).toEqual({
      state: 'open',
      approvals: 1,
      waitingOn: ['business'],
    });
    expect(evaluateRound(rule, [vote('sre', 'approve'), vote('business', 'approve')])).toMatchObject({
      state: 'decided',
      verdict: 'approved',
    });
    // Two of three carry the round without the third.
    expect(evaluateRound(twoOfThree, [vote('sre', 'approve'), vote('business', 'approve')])).toMatchObject({
      verdict: 'approved',
      reason: '2 of 3 approved (quorum 2)',
    });
  });

  it('ends as soon as rejections leave the quorum out of reach', () => {
    expect(evaluateRound(twoOfThree, [vote('business', 'reject', 'too generous')])).toMatchObject({
      state: 'open',
    });
    expect(
      evaluateRound(twoOfThree, [
        vote('business', 'reject', 'too generous'),
        vote('sre', 'reject', 'not yet'),
      ]),
    ).toEqual({
      state: 'decided',
      verdict: 'unreachable',
      reason:
        'the quorum of 2 of 3 can no longer be reached: Business rejected: too generous; SRE rejected: not yet',
    });
    // Every role must approve: one rejection is enough.
    expect(evaluateRound(DEFAULT_ROUND_RULES.small, [vote('sre', 'reject', 'no')])).toMatchObject({
      verdict: 'unreachable',
    });
  });

  it('lets a veto role stop the round alone, and waits for its approval even past the quorum', () => {
    const others = [vote('business', 'approve'), vote('sre', 'approve')];
    expect(evaluateRound(twoOfThreeLegalVeto, others)).toEqual({
      state: 'open',
      approvals: 2,
      waitingOn: ['legal'],
    });
    expect(evaluateRound(twoOfThreeLegalVeto, [...others, vote('legal', 'reject', 'GDPR Art. 34')])).toEqual({
      state: 'decided',
      verdict: 'vetoed',
      reason: 'Legal rejected: GDPR Art. 34 (Legal holds a veto)',
    });
    expect(
      evaluateRound(twoOfThreeLegalVeto, [vote('legal', 'approve'), vote('sre', 'approve')]),
    ).toMatchObject({
      verdict: 'approved',
    });
    expect(evaluateRound(DEFAULT_ROUND_RULES.large, [vote('legal', 'reject', 'no')])).toMatchObject({
      verdict: 'vetoed',
    });
  });

  it('reads a failed round with a change request as a request for changes', () => {
    expect(
      evaluateRound(DEFAULT_ROUND_RULES.small, [vote('business', 'request-changes', 'add a credit')]),
    ).toEqual({
      state: 'decided',
      verdict: 'changes-requested',
      reason: 'the quorum of 2 of 2 can no longer be reached: Business requested changes: add a credit',
    });
    expect(
      evaluateRound(DEFAULT_ROUND_RULES.large, [vote('legal', 'request-changes', 'name the clause')]),
    ).toMatchObject({ verdict: 'changes-requested' });
    // Outvoted: the quorum carries the plan over one request for changes.
    expect(
      evaluateRound(twoOfThree, [
        vote('legal', 'request-changes', 'wording'),
        vote('business', 'approve'),
        vote('sre', 'approve'),
      ]),
    ).toMatchObject({ verdict: 'approved' });
  });

  it('counts one vote per role, and none from a role the round does not ask', () => {
    const rule = DEFAULT_ROUND_RULES.small;
    expect(
      evaluateRound(rule, [vote('legal', 'reject', 'x'), vote('sre', 'approve'), vote('sre', 'reject', 'y')]),
    ).toEqual({
      state: 'open',
      approvals: 1,
      waitingOn: ['business'],
    });
  });
});
