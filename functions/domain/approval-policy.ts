/**
 * The approval policy (seed 001 §2, §3.3 and §5) as data: for each impact size — and, where set,
 * each severity — which roles of the triangle are asked to approve a remediation plan, how many
 * approvals carry the round (the quorum) and which roles hold a veto; and for each role a primary
 * and a backup approver, each with the name the pages and the Decision Log give them.
 *
 * Configuration parses it once (`functions/adapters/config.ts`, `lib/settings.ts`); a round keeps
 * the rule it was opened under (a redeployed policy does not change a round under way); every
 * decision is evaluated against that rule here, without a store.
 */
import canonicalize from 'canonicalize';
import * as z from 'zod';
import type { ImpactSize } from './deadlines.ts';
import { IMPACT_SIZES } from './deadlines.ts';
import { emailAddress } from './email-address.ts';
import { sha256Hex } from './json.ts';
import { LIMITS } from './limits.ts';
import type { ApproverRole, Severity } from './vocabulary.ts';
import { APPROVER_ROLES, ROLE_LABEL, SEVERITIES } from './vocabulary.ts';

/** What an approver can decide on a plan. */
export const DECISIONS = ['approve', 'reject', 'request-changes'] as const;
export type Decision = (typeof DECISIONS)[number];

/** A person on the roster: the address links go to, and the name the records give them. */
export interface Approver {
  readonly email: string;
  readonly name: string;
}

/** A role's seat: whom it asks first, and whom when the primary does not answer in time. */
export interface Seat {
  readonly primary: Approver;
  readonly backup?: Approver;
}

/** Who decides a round: the roles asked, the approvals that carry it, the roles that can stop it alone. */
export interface RoundRule {
  readonly roles: readonly ApproverRole[];
  /** Approvals needed, of `roles.length`; every veto role's approval is among them. */
  readonly quorum: number;
  readonly veto: readonly ApproverRole[];
}

export interface ApprovalPolicy {
  readonly roster: Readonly<Partial<Record<ApproverRole, Seat>>>;
  readonly sizes: Readonly<Record<ImpactSize, RoundRule>>;
  /** Rules for a size at one severity, where they differ from the size's own. */
  readonly severities: Readonly<Partial<Record<Severity, Partial<Record<ImpactSize, RoundRule>>>>>;
  /** Names this exact policy in the Decision Log: the start of the SHA-256 of its canonical JSON. */
  readonly version: string;
}

/**
 * Seed 001: a small incident is support-led, so SRE and Business decide; a medium one asks all
 * three; a large one (personal data, legal exposure) asks all three and Legal can stop it alone.
 */
export const DEFAULT_ROUND_RULES: Readonly<Record<ImpactSize, RoundRule>> = {
  small: { roles: ['sre', 'business'], quorum: 2, veto: [] },
  medium: { roles: ['legal', 'business', 'sre'], quorum: 3, veto: [] },
  large: { roles: ['legal', 'business', 'sre'], quorum: 3, veto: ['legal'] },
};

// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
const approverSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      email: emailAddress,
      name: z
        .string({ error: 'is required' })
        .trim()
        .min(1, 'is required')
        .max(LIMITS.deciderNameChars, `must be at most ${LIMITS.deciderNameChars} characters`),
    })
    .strict(),
);

const seatSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ primary: approverSchema, backup: approverSchema.optional() })
    .strict()
    .refine((s) => !s.backup || s.backup.email.toLowerCase() !== s.primary.email.toLowerCase(), {
      message: 'must be someone other than the primary',
      path: ['backup'],
    }),
);

const role = /* @__PURE__ */ z.lazy(() =>
  z.enum(APPROVER_ROLES, { error: `must be one of ${APPROVER_ROLES.join(', ')}` }),
);

const ruleSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      roles: z.array(role).min(1, 'must name at least one role'),
      quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
      veto: z.array(role).optional(),
    })
    .strict()
    .superRefine((r, ctx) => {
      const seen = new Set<string>();
      for (const name of r.roles) {
        if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['roles'], message: `names ${name} twice` });
        seen.add(name);
      }
      const quorum = r.quorum ?? r.roles.length;
      if (quorum > seen.size) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `is ${quorum}, more than the ${seen.size} role${seen.size === 1 ? '' : 's'} asked`,
        });
      }
      const veto = new Set(r.veto ?? []);
      for (const name of veto) {
        if (!seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['veto'],
            message: `names ${name}, who is not among the roles`,
          });
        }
      }
      if (quorum < veto.size) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `is ${quorum}, fewer than the ${veto.size} veto roles, each of whose approval is needed`,
        });
      }
    })
    .transform(
      (r): RoundRule => ({ roles: r.roles, quorum: r.quorum ?? r.roles.length, veto: r.veto ?? [] }),
    ),
);

const sizeRules = /* @__PURE__ */ z.lazy(() =>
  z
    .object(
      Object.fromEntries(IMPACT_SIZES.map((s) => [s, ruleSchema.optional()])) as {
        [S in ImpactSize]: z.ZodOptional<typeof ruleSchema>;
      },
    )
    .strict(),
);

/**
 * The policy as configured (`CASEBOOK_APPROVAL_POLICY`, CDK context `casebook:approvalPolicy`);
 * every part may be left out: a size without a rule keeps seed 001's, a role without approvers
 * falls back to its configured address.
 */
export const approvalPolicySchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      approvers: z
        .object(
          Object.fromEntries(APPROVER_ROLES.map((r) => [r, seatSchema.optional()])) as {
            [R in ApproverRole]: z.ZodOptional<typeof seatSchema>;
          },
        )
        .strict()
        .optional(),
      sizes: sizeRules.optional(),
      severities: z
        .object(
          Object.fromEntries(SEVERITIES.map((s) => [s, sizeRules.optional()])) as {
            [S in Severity]: z.ZodOptional<typeof sizeRules>;
          },
        )
        .strict()
        .optional(),
    })
    .strict(),
);

export type ApprovalPolicyInput = z.input<typeof approvalPolicySchema>;

export type PolicyResult =
  | { readonly ok: true; readonly policy: ApprovalPolicy }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Parses a configured policy (`undefined`: none configured, seed 001's rules) over the roles'
 * fallback addresses, and lists every problem at once: the schema's, and each role a rule asks
 * that has nobody to ask. `fallbackHint` names where a role's fallback address is configured.
 */
export function parseApprovalPolicy(
  raw: unknown,
  fallback: Readonly<Partial<Record<ApproverRole, string>>>,
  fallbackHint: (role: ApproverRole) => string = (r) => `a fallback address for ${r}`,
): PolicyResult {
  const parsed = approvalPolicySchema.safeParse(raw ?? {});
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(policy)'} ${i.message}`);
  // The parts that parsed count even when others did not, so every problem shows at once; a part
  // given but broken is reported above and asks nobody here.
  const given = (raw ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const valid = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => {
    const part = schema.safeParse(value);
    return part.success ? part.data : undefined;
  };
  const roster: Partial<Record<ApproverRole, Seat>> = {};
  const broken = new Set<ApproverRole>();
  for (const r of APPROVER_ROLES) {
    const value = given.approvers?.[r];
    const seat = value === undefined ? undefined : valid(seatSchema, value);
    const address = fallback[r];
    if (value !== undefined && !seat) broken.add(r);
    if (seat)
      roster[r] = seat.backup ? { primary: seat.primary, backup: seat.backup } : { primary: seat.primary };
    else if (address) roster[r] = { primary: { email: address, name: `${ROLE_LABEL[r]} approver` } };
  }
  const rulesOf = (section: Record<string, unknown> | undefined, prefix: string) =>
    IMPACT_SIZES.flatMap((s) => {
      const rule = section?.[s] === undefined ? undefined : valid(ruleSchema, section[s]);
      return rule ? [[`${prefix}.${s}`, s, rule] as const] : [];
    });
  const sizes: Record<ImpactSize, RoundRule> = { ...DEFAULT_ROUND_RULES };
  for (const [, size, rule] of rulesOf(given.sizes, 'sizes')) sizes[size] = rule;
  const givenSizes = given.sizes ?? {};
  const severities: Partial<Record<Severity, Partial<Record<ImpactSize, RoundRule>>>> = {};
  const bySeverity = SEVERITIES.flatMap((sev) =>
    rulesOf(given.severities?.[sev] as Record<string, unknown> | undefined, `severities.${sev}`).map(
      ([where, size, rule]) => {
        severities[sev] = { ...severities[sev], [size]: rule };
        return [where, rule] as const;
      },
    ),
  );
  const unseated = new Map<ApproverRole, string[]>();
  const bySize = IMPACT_SIZES.filter(
    (s) => givenSizes[s] === undefined || valid(ruleSchema, givenSizes[s]),
  ).map((s) => [`sizes.${s}`, sizes[s]] as const);
  for (const [where, rule] of [...bySize, ...bySeverity]) {
    for (const r of rule.roles) {
      if (!roster[r] && !broken.has(r)) unseated.set(r, [...(unseated.get(r) ?? []), where]);
    }
  }
  for (const r of APPROVER_ROLES) {
    const where = unseated.get(r);
    if (!where) continue;
    problems.push(
      `approvers.${r} is required: ${where.join(', ')} ask${where.length === 1 ? 's' : ''} ${r} (or set ${fallbackHint(r)})`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  const body = { roster, sizes, severities };
  return { ok: true, policy: { ...body, version: sha256Hex(canonicalize(body) ?? '').slice(0, 16) } };
}

/** The rule a round is opened under: the severity's rule for the size where one is set, else the size's. */
export function roundRuleFor(policy: ApprovalPolicy, size: ImpactSize, severity: Severity): RoundRule {
  return policy.severities[severity]?.[size] ?? policy.sizes[size];
}

/** One role's decision in a round. */
export interface Vote {
  readonly role: ApproverRole;
  readonly decision: Decision;
  readonly comment: string;
}

/** How a round ended: approved, or back to Understand for a revised plan (each with its reason). */
export type RoundVerdict = 'approved' | 'vetoed' | 'unreachable' | 'changes-requested';

/** How a verdict reads at the start of a sentence. */
export const VERDICT_LABEL: Readonly<Record<RoundVerdict, string>> = {
  approved: 'Approved',
  vetoed: 'Vetoed',
  unreachable: 'Rejected',
  'changes-requested': 'Changes requested',
};

export type RoundState =
  | { readonly state: 'open'; readonly approvals: number; readonly waitingOn: readonly ApproverRole[] }
  | { readonly state: 'decided'; readonly verdict: RoundVerdict; readonly reason: string };

/** A decision as a verb in the past tense. */
export const DECISION_VERB: Readonly<Record<Decision, string>> = {
  approve: 'approved',
  reject: 'rejected',
  'request-changes': 'requested changes',
};

/** `Legal rejected: the ToS requires a refund` */
export function describeVote(vote: Vote): string {
  return `${ROLE_LABEL[vote.role]} ${DECISION_VERB[vote.decision]}${vote.comment ? `: ${vote.comment}` : ''}`;
}

/**
 * Where a round stands after the votes so far (one per role; votes of roles the rule does not ask
 * count for nothing). It is decided as soon as it can be: a veto role that does not approve stops
 * it; the quorum reached, with every veto role among the approvals, carries it; rejections and
 * change requests that leave too few roles to reach the quorum end it. A change request counts
 * against the quorum as a rejection does; a round that fails with one among its votes goes back
 * to Understand as a request for changes.
 */
export function evaluateRound(rule: RoundRule, votes: readonly Vote[]): RoundState {
  const byRole = new Map<ApproverRole, Vote>();
  for (const vote of votes) {
    if (rule.roles.includes(vote.role) && !byRole.has(vote.role)) byRole.set(vote.role, vote);
  }
  const all = [...byRole.values()];
  const against = all.filter((v) => v.decision !== 'approve');
  const vetoed = against.find((v) => rule.veto.includes(v.role));
  if (vetoed) {
    return {
      state: 'decided',
      verdict: vetoed.decision === 'request-changes' ? 'changes-requested' : 'vetoed',
      reason: `${describeVote(vetoed)} (${ROLE_LABEL[vetoed.role]} holds a veto)`,
    };
  }
  const approvals = all.length - against.length;
  const waitingOn = rule.roles.filter((r) => !byRole.has(r));
  if (approvals >= rule.quorum && rule.veto.every((r) => byRole.get(r)?.decision === 'approve')) {
    return {
      state: 'decided',
      verdict: 'approved',
      reason: `${approvals} of ${rule.roles.length} approved (quorum ${rule.quorum})`,
    };
  }
  if (approvals + waitingOn.length < rule.quorum) {
    return {
      state: 'decided',
      verdict: against.some((v) => v.decision === 'request-changes') ? 'changes-requested' : 'unreachable',
      reason: `the quorum of ${rule.quorum} of ${rule.roles.length} can no longer be reached: ${against.map(describeVote).join('; ')}`,
    };
  }
  return { state: 'open', approvals, waitingOn };
}

/** `Legal, Business and SRE; 3 of 3 must approve; Legal holds a veto` */
export function describeRule(rule: RoundRule): string {
  const names = (roles: readonly ApproverRole[]) => {
    const labels = roles.map((r) => ROLE_LABEL[r]);
    return labels.length > 1 ? `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}` : (labels[0] ?? '');
  };
  const veto =
    rule.veto.length === 0 ? '' : `; ${names(rule.veto)} hold${rule.veto.length === 1 ? 's' : ''} a veto`;
  return `${names(rule.roles)}; ${rule.quorum} of ${rule.roles.length} must approve${veto}`;
}
