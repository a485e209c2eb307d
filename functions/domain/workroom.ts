/**
 * The workroom: what each person may do to an incident, in which phase, with which fields (the
 * contract the pages, scripts and the CLI rely on). Rules as data: an action names the roles that
 * may take it and the phases that allow it; its fields are a zod schema, so a wrong field is a 400
 * that names it, an action the phase does not allow a 409 that says which phase does, and an
 * action the role may not take a 403 — and in none of these is anything written.
 */
import * as z from 'zod';
import { IMPACT_ASSETS, IMPACT_SIZES } from './deadlines.ts';
import { emailAddress } from './email-address.ts';
import { explicitEffectSchema, noticeTextSchema, planRuleSchema } from './plan.ts';
import { parseRfc3339 } from './time.ts';
import type { Phase } from './vocabulary.ts';
import { ACTION_SAFETY, PHASES, SEVERITIES, WORLDS } from './vocabulary.ts';

/** Who holds a workroom link. */
export const WORK_ROLES = ['responder', 'sre_lead'] as const;
export type WorkRole = (typeof WORK_ROLES)[number];

const text = (max: number) =>
  z.string().trim().min(1, 'is required').max(max, `must be at most ${max} characters`);
// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
/** Any RFC 3339 time (an offset is fine), kept as the UTC instant it names. */
const instant = /* @__PURE__ */ z.lazy(() =>
  z.string().transform((value, ctx) => {
    const utc = parseRfc3339(value);
    if (utc) return utc;
    ctx.addIssue({ code: 'custom', message: 'must be a time such as 2026-11-29T08:59:00Z' });
    return z.NEVER;
  }),
);
const list = (max: number, item = text(2000)) => z.array(item).max(max, `must hold at most ${max} items`);

/** The postmortem form: seed 003's template, with lessons in seed 000's three parts. */
export const postmortemSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      title: text(300),
      summary: text(4000),
      rootCause: text(8000),
      contributingFactors: list(50),
      whatWentWell: list(50),
      lessons: z
        .object({ technical: list(50), process: list(50), governance: list(50) })
        .strict()
        .refine(
          (l) => l.technical.length + l.process.length + l.governance.length > 0,
          'must hold at least one lesson',
        ),
      actionItems: z
        .array(
          z
            .object({
              item: text(500),
              owner: text(200),
              due: z.iso.date({ error: 'must be a date such as 2026-12-15' }),
            })
            .strict(),
        )
        .max(100),
    })
    .strict(),
);
export type Postmortem = z.infer<typeof postmortemSchema>;

/** A postmortem as kept: the form, who submitted it and when. */
export interface SubmittedPostmortem extends Postmortem {
  readonly by: string;
  readonly at: string;
}

const OPEN_PHASES = PHASES;

/** Whose link (one of the incident's people) and why: the reason goes to the Decision Log. */
const linkChangeSchema = /* @__PURE__ */ z.lazy(() =>
  z.object({ person: emailAddress, reason: text(2000) }).strict(),
);
const BEFORE_ACT: readonly Phase[] = ['Detect', 'Contain', 'Understand', 'Decide'];

/** Every action of the workroom: its fields, who may take it, and in which phases. */
export const WORK_ACTIONS = {
  acknowledge: {
    schema: /* @__PURE__ */ z.lazy(() => z.object({}).strict()),
    roles: WORK_ROLES,
    phases: OPEN_PHASES,
  },
  contain: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z
        .object({
          actions: z
            .array(
              z
                .object({ description: text(1000), safety: z.enum(ACTION_SAFETY), world: z.enum(WORLDS) })
                .strict(),
            )
            .min(1, 'must list at least one containment action')
            .max(50),
          contained: z.boolean(),
        })
        .strict(),
    ),
    roles: WORK_ROLES,
    phases: ['Detect', 'Contain'] as readonly Phase[],
  },
  impact: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z
        .object({
          users: z.number().int().min(0),
          transactions: z.number().int().min(0),
          assets: z.array(z.enum(IMPACT_ASSETS)).min(1).max(4),
          from: instant,
          to: instant.optional(),
          summary: text(4000),
        })
        .strict(),
    ),
    roles: WORK_ROLES,
    phases: ['Contain', 'Understand'] as readonly Phase[],
  },
  customers: {
    schema: /* @__PURE__ */ z.lazy(() => z.unknown()),
    roles: WORK_ROLES,
    phases: ['Contain', 'Understand'] as readonly Phase[],
  },
  plan: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z
        .object({
          summary: text(2000),
          apply: z.array(planRuleSchema).max(20),
          effects: z.array(explicitEffectSchema).max(50_000),
          notice: noticeTextSchema.optional(),
        })
        .strict()
        .refine((p) => p.apply.length + p.effects.length > 0, 'must apply a rule or name an effect'),
    ),
    roles: WORK_ROLES,
    phases: ['Understand'] as readonly Phase[],
  },
  'submit-plan': {
    // A reply to the approvers' change request: what lets a plan they sent back go to them unchanged.
    schema: /* @__PURE__ */ z.lazy(() => z.object({ reply: text(2000).optional() }).strict()),
    roles: WORK_ROLES,
    phases: ['Understand'] as readonly Phase[],
  },
  severity: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z.object({ severity: z.enum(SEVERITIES), reason: text(2000) }).strict(),
    ),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: OPEN_PHASES,
  },
  size: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z.object({ size: z.enum(IMPACT_SIZES), reason: text(2000) }).strict(),
    ),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: BEFORE_ACT,
  },
  regulator: {
    schema: /* @__PURE__ */ z.lazy(() => z.object({ reference: text(500), notifiedAt: instant }).strict()),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: OPEN_PHASES,
  },
  cancel: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z
        .object({ reason: text(2000), outcome: z.enum(['false_alarm', 'downscoped']), world: z.enum(WORLDS) })
        .strict()
        .refine(
          (c) => c.outcome !== 'downscoped' || c.world !== 'RML3',
          'a downscope names the world it goes down to (RML1 or RML2)',
        ),
    ),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: BEFORE_ACT,
  },
  note: {
    schema: /* @__PURE__ */ z.lazy(() => z.object({ text: text(4000) }).strict()),
    roles: WORK_ROLES,
    phases: OPEN_PHASES,
  },
  handoff: {
    schema: /* @__PURE__ */ z.lazy(() => z.object({ to: emailAddress }).strict()),
    roles: WORK_ROLES,
    phases: OPEN_PHASES,
  },
  time: {
    schema: /* @__PURE__ */ z.lazy(() =>
      z
        .object({
          role: text(100),
          minutes: z
            .number()
            .int()
            .min(1)
            .max(24 * 60),
          note: text(1000),
        })
        .strict(),
    ),
    roles: WORK_ROLES,
    phases: OPEN_PHASES,
  },
  postmortem: {
    schema: /* @__PURE__ */ z.lazy(() => postmortemSchema),
    roles: WORK_ROLES,
    phases: ['Learn'] as readonly Phase[],
  },
  'reissue-link': {
    schema: /* @__PURE__ */ z.lazy(() => linkChangeSchema),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: OPEN_PHASES,
  },
  'revoke-link': {
    schema: /* @__PURE__ */ z.lazy(() => linkChangeSchema),
    roles: ['sre_lead'] as readonly WorkRole[],
    phases: OPEN_PHASES,
  },
} as const;

/** The actions on a person's workroom link rather than on the incident. */
export const LINK_ACTIONS = ['reissue-link', 'revoke-link'] as const;
export type LinkAction = (typeof LINK_ACTIONS)[number];

export type WorkAction = keyof typeof WORK_ACTIONS;

/** The fields of an action, as its schema gives them. */
export type ActionFields<A extends WorkAction> = z.output<(typeof WORK_ACTIONS)[A]['schema']>;

export function isWorkAction(name: string): name is WorkAction {
  return Object.hasOwn(WORK_ACTIONS, name);
}

/** Why an action cannot be taken now, or undefined when it can. */
export function refusal(
  action: WorkAction,
  role: WorkRole,
  phase: Phase,
): { readonly status: 403 | 409; readonly message: string } | undefined {
  const rule = WORK_ACTIONS[action];
  if (!(rule.roles as readonly WorkRole[]).includes(role)) {
    return {
      status: 403,
      message: `${action} is for ${rule.roles.join(' or ')}, and this link is a ${role}'s`,
    };
  }
  if (!(rule.phases as readonly Phase[]).includes(phase)) {
    return {
      status: 409,
      message: `${action} is taken in ${rule.phases.join(' or ')}; the incident is in ${phase}`,
    };
  }
  return undefined;
}

/** The actions a person may take now (what the workroom shows as forms). */
export function allowedActions(role: WorkRole, phase: Phase): WorkAction[] {
  return (Object.keys(WORK_ACTIONS) as WorkAction[]).filter((a) => !refusal(a, role, phase));
}
