/**
 * What each item of the operational table holds, as a zod schema: every item read back becomes a
 * domain value through one of these, never through a cast. A schema names every field of its
 * domain type (checked when compiling), and leaves behind what the type does not hold: the keys,
 * an incident's revision.
 */
import * as z from 'zod';
import type { Approval, BackupRequest, DecisionClient } from '../domain/approval.ts';
import type { RoundRule } from '../domain/approval-policy.ts';
import { DECISIONS } from '../domain/approval-policy.ts';
import { IMPACT_ASSETS, IMPACT_SIZES } from '../domain/deadlines.ts';
import type { EffectQuestion, EffectRecord } from '../domain/effects.ts';
import type { ApprovalRound, Incident, PendingRecords, TimelineEvent } from '../domain/incident.ts';
import { TIMELINE_TYPES } from '../domain/incident.ts';
import type { JsonObject } from '../domain/json.ts';
import { ledgerDraftSchema } from '../domain/ledger.ts';
import { moneySchema } from '../domain/money.ts';
import type { Customer, PlanSnapshot, PlanTotal, RemediationPlan } from '../domain/plan.ts';
import { NOTICE_TEMPLATES, PLAN_EFFECT_KINDS } from '../domain/plan.ts';
import type { ArchivedPayload, Correlation } from '../domain/ports.ts';
import type { Truncation } from '../domain/text.ts';
import {
  ACTION_SAFETY,
  APPROVER_ROLES,
  PHASES,
  RML3_CATEGORIES,
  SEVERITIES,
  STATUSES,
  WORLDS,
} from '../domain/vocabulary.ts';
import type { WorkLink } from '../domain/work-link.ts';
import type { SubmittedPostmortem } from '../domain/workroom.ts';
import { WORK_ROLES } from '../domain/workroom.ts';

/** A schema for every field of `T`, and for nothing else. */
type FieldsOf<T> = { readonly [K in keyof Required<NonNullable<T>>]: z.ZodType };

/**
 * Builds a schema at its first use and keeps it. Built at import, these schemas were a fifth of the
 * biggest bundle's cold start; a function now builds only the ones for the items it reads.
 */
function lazily<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => {
    built ??= build();
    return built;
  };
}

const obligation = lazily(() => z.enum(['tos', 'brand']));
const attentionReason = lazily(() => z.enum(['in-doubt', 'refused', 'manual', 'plan-mismatch', 'bounced']));

const totalSchema = lazily(() =>
  z.object({
    kind: z.enum(PLAN_EFFECT_KINDS),
    currency: z.string().nullable(),
    obligation: obligation(),
    count: z.number(),
    minor: z.number(),
  } satisfies FieldsOf<PlanTotal>),
);

const noticeTextSchema = lazily(() => z.object({ subject: z.string(), body: z.string() }));

const planSnapshotSchema = lazily(() =>
  z.object({
    version: z.number(),
    summary: z.string(),
    notice: noticeTextSchema().optional(),
    effectCount: z.number(),
    totals: z.array(totalSchema()),
  } satisfies FieldsOf<PlanSnapshot>),
);

const roundRuleSchema = lazily(() =>
  z.object({
    roles: z.array(z.enum(APPROVER_ROLES)),
    quorum: z.number(),
    veto: z.array(z.enum(APPROVER_ROLES)),
  } satisfies FieldsOf<RoundRule>),
);

const planSchema = lazily(() =>
  z.object({
    version: z.number(),
    versionId: z.string().optional(),
    summary: z.string(),
    notice: noticeTextSchema().optional(),
    proposedAt: z.string(),
    proposedBy: z.string(),
    effectCount: z.number(),
    totals: z.array(totalSchema()),
    effectsHash: z.string(),
    hash: z.string(),
  } satisfies FieldsOf<RemediationPlan>),
);

const eventSchema = lazily(() =>
  z.object({
    key: z.string(),
    at: z.string(),
    world: z.enum(WORLDS),
    type: z.enum(TIMELINE_TYPES),
    phase: z.enum(PHASES),
    summary: z.string(),
    detail: (z.record(z.string(), z.json()) as z.ZodType<JsonObject>).optional(),
  } satisfies FieldsOf<TimelineEvent>),
);

const incidentSchema = lazily(() =>
  z.object({
    id: z.string(),
    title: z.string(),
    description: z.string().optional(),
    status: z.enum(STATUSES),
    phase: z.enum(PHASES),
    severity: z.enum(SEVERITIES),
    world: z.enum(WORLDS),
    categories: z.array(z.enum(RML3_CATEGORIES)),
    classificationReason: z.string(),
    source: z.string(),
    correlationKey: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    externalUrl: z.string().optional(),
    alertNamedCustomers: z.number().optional(),
    customerSummary: z.string().optional(),
    productArea: z.string().optional(),
    assets: z.array(z.string()).optional(),
    truncated: z
      .array(
        z.object({ field: z.string(), bytes: z.number(), sha256: z.string() } satisfies FieldsOf<Truncation>),
      )
      .optional(),
    originalPayload: z
      .object({ key: z.string(), sha256: z.string(), bytes: z.number() } satisfies FieldsOf<ArchivedPayload>)
      .optional(),
    startedAt: z.string(),
    detectedAt: z.string(),
    updatedAt: z.string(),
    phaseEnteredAt: z.partialRecord(z.enum(PHASES), z.string()),
    customerList: z
      .object({
        version: z.number(),
        versionId: z.string().optional(),
        count: z.number(),
        totals: z.array(z.object({ currency: z.string(), minor: z.number(), count: z.number() })).optional(),
      } satisfies FieldsOf<Incident['customerList']>)
      .optional(),
    plan: planSchema().optional(),
    planSubmitted: z
      .object({
        version: z.number(),
        at: z.string(),
        by: z.string(),
        reply: z.string().optional(),
      } satisfies FieldsOf<Incident['planSubmitted']>)
      .optional(),
    planRejected: z
      .object({
        version: z.number(),
        reason: z.string(),
        at: z.string(),
        substance: z.string().optional(),
      } satisfies FieldsOf<Incident['planRejected']>)
      .optional(),
    planInput: z
      .object({
        version: z.number(),
        fields: z.record(z.string(), z.json()) as z.ZodType<JsonObject>,
        substance: z.string(),
      } satisfies FieldsOf<Incident['planInput']>)
      .optional(),
    effectProgress: z
      .object({
        planVersion: z.number(),
        at: z.string(),
        rows: z.array(z.object({ kind: z.string(), progress: z.string(), count: z.number() })),
      } satisfies FieldsOf<Incident['effectProgress']>)
      .optional(),
    decideRound: z.number(),
    decideEntry: z.string().optional(),
    decideRoundAt: z.string().optional(),
    approvalRound: z
      .object({
        round: z.number(),
        openedAt: z.string(),
        policyVersion: z.string(),
        size: z.enum(IMPACT_SIZES),
        severity: z.enum(SEVERITIES),
        rule: roundRuleSchema(),
        planVersion: z.number(),
        planHash: z.string(),
        decided: z
          .object({
            verdict: z.enum(['approved', 'vetoed', 'unreachable', 'changes-requested']),
            reason: z.string(),
            at: z.string(),
          } satisfies FieldsOf<ApprovalRound['decided']>)
          .optional(),
      } satisfies FieldsOf<ApprovalRound>)
      .optional(),
    halted: z
      .object({
        reason: z.enum(['rounds-exhausted', 'failed']),
        at: z.string(),
        error: z.string().optional(),
        cause: z.string().optional(),
      } satisfies FieldsOf<Incident['halted']>)
      .optional(),
    acknowledgedAt: z.string().optional(),
    commander: z.string().optional(),
    mitigatedAt: z.string().optional(),
    impact: z
      .object({
        users: z.number(),
        transactions: z.number(),
        assets: z.array(z.enum(IMPACT_ASSETS)),
        from: z.string(),
        to: z.string().optional(),
        summary: z.string(),
        by: z.string(),
        at: z.string(),
      } satisfies FieldsOf<Incident['impact']>)
      .optional(),
    size: z
      .object({
        size: z.enum(IMPACT_SIZES),
        because: z.string(),
        overriddenBy: z.string().optional(),
      } satisfies FieldsOf<Incident['size']>)
      .optional(),
    piiAwareAt: z.string().optional(),
    regulatorNotified: z
      .object({ at: z.string(), reference: z.string(), by: z.string() } satisfies FieldsOf<
        Incident['regulatorNotified']
      >)
      .optional(),
    sloBreachedAt: z.string().optional(),
    cancelled: z
      .object({
        outcome: z.enum(['false_alarm', 'downscoped']),
        reason: z.string(),
        world: z.enum(WORLDS),
        by: z.string(),
        at: z.string(),
      } satisfies FieldsOf<Incident['cancelled']>)
      .optional(),
    postmortemAt: z.string().optional(),
    pendingRecords: z
      .object({
        decision: ledgerDraftSchema.optional(),
        effect: ledgerDraftSchema.optional(),
        events: z.array(eventSchema()),
      } satisfies FieldsOf<PendingRecords>)
      .optional(),
    resolvedAt: z.string().optional(),
    closedAt: z.string().optional(),
    executionName: z.string(),
  } satisfies FieldsOf<Incident>),
);

const approvalSchema = lazily(() =>
  z.object({
    incidentId: z.string(),
    round: z.number(),
    role: z.enum(APPROVER_ROLES),
    approverEmail: z.string(),
    approverName: z.string(),
    status: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'CHANGES_REQUESTED', 'WITHDRAWN']),
    requestedAt: z.string(),
    planHash: z.string(),
    planVersion: z.number(),
    plan: planSnapshotSchema().optional(),
    lastSeen: planSnapshotSchema().extend({ round: z.number() }).optional(),
    policyVersion: z.string(),
    linkSecretHash: z.string(),
    emailedAt: z.string().optional(),
    backup: z
      .object({
        email: z.string(),
        name: z.string(),
        requestedAt: z.string(),
        linkSecretHash: z.string(),
        emailedAt: z.string().optional(),
      } satisfies FieldsOf<BackupRequest>)
      .optional(),
    decision: z
      .object({
        decision: z.enum(DECISIONS),
        // Decisions recorded before backups were asked were all the primary's.
        seat: z.enum(['primary', 'backup']).default('primary'),
        name: z.string(),
        comment: z.string(),
        basis: z.string().optional(),
        at: z.string(),
        client: z
          .object({ ip: z.string(), userAgent: z.string() } satisfies FieldsOf<DecisionClient>)
          .optional(),
      } satisfies FieldsOf<Approval['decision']>)
      .optional(),
    withdrawnReason: z.string().optional(),
  } satisfies FieldsOf<Approval>),
);

/** Occurrences are a String Set, absent when empty (DynamoDB stores no empty set). */
const correlationSchema = lazily(() =>
  z
    .object({
      incidentId: z.string(),
      occurrences: z.set(z.string()).optional(),
      open: z.boolean().optional(),
      resolved: z.set(z.string()).optional(),
      repeats: z.number().optional(),
      status: z.enum(['firing', 'resolved']).optional(),
      claimedAt: z.string().optional(),
      started: z.boolean().optional(),
      cross: z.string().optional(),
      owner: z.string().optional(),
      joined: z.set(z.string()).optional(),
      via: z.string().optional(),
    })
    .transform(({ occurrences, resolved, joined, ...rest }) => ({
      ...rest,
      occurrences: occurrences ? [...occurrences].sort() : [],
      ...(resolved ? { resolved: [...resolved].sort() } : {}),
      ...(joined ? { joined: [...joined].sort() } : {}),
    })),
);

const customerSchema = lazily(() =>
  z.object({
    customerRef: z.string(),
    email: z.string().optional(),
    name: z.string().optional(),
    amount: moneySchema.optional(),
    productArea: z.string().optional(),
    paymentRef: z.string().optional(),
    paidAt: z.string().optional(),
    otherEmails: z.array(z.string()).optional(),
  } satisfies FieldsOf<Customer>),
);

const effectSchema = lazily(() =>
  z.object({
    effectId: z.string(),
    planVersion: z.number(),
    kind: z.enum(PLAN_EFFECT_KINDS),
    customerRef: z.string(),
    counterparty: z.string(),
    world: z.enum(WORLDS),
    safety: z.enum(ACTION_SAFETY),
    obligation: obligation(),
    amount: moneySchema.optional(),
    paymentRef: z.string().optional(),
    productArea: z.string().optional(),
    template: z.enum(NOTICE_TEMPLATES).optional(),
    credit: moneySchema.optional(),
    contentHash: z.string().optional(),
    progress: z.enum(['planned', 'intent', 'executed', 'confirmed', 'attention', 'voided']),
    attempt: z.number().int().positive(),
    providerRef: z.string().optional(),
    intentAt: z.string().optional(),
    attention: z
      .object({
        reason: attentionReason(),
        detail: z.string(),
        since: z.string(),
      } satisfies FieldsOf<EffectRecord['attention']>)
      .optional(),
    updatedAt: z.string().optional(),
  } satisfies FieldsOf<EffectRecord>),
);

const questionSchema = lazily(() =>
  z.object({
    incidentId: z.string(),
    effectId: z.string(),
    attempt: z.number(),
    reason: attentionReason(),
    detail: z.string(),
    askedAt: z.string(),
    links: z.record(z.string(), z.string()),
    emailedAt: z.string().optional(),
    answered: z
      .object({
        answer: z.enum(['sent', 'not-sent', 'retry', 'done-by-hand', 'void', 'resend']),
        by: z.string(),
        at: z.string(),
        note: z.string(),
        reference: z.string().optional(),
        address: z.string().optional(),
      } satisfies FieldsOf<EffectQuestion['answered']>)
      .optional(),
  } satisfies FieldsOf<EffectQuestion>),
);

const workLinkSchema = lazily(() =>
  z.object({
    incidentId: z.string(),
    person: z.string(),
    email: z.string(),
    role: z.enum(WORK_ROLES),
    secretHash: z.string(),
    issuedAt: z.string(),
    expiresAt: z.string(),
    emailedAt: z.string().optional(),
    revoked: z.object({ at: z.string(), by: z.string(), reason: z.string() }).optional(),
    moreSecrets: z.array(z.string()).optional(),
    retired: z.array(z.object({ secretHash: z.string(), at: z.string() })).optional(),
  } satisfies FieldsOf<WorkLink>),
);

/** A postmortem was valid when it was submitted: read back, it is taken as written. */
const postmortemItemSchema = lazily(() =>
  z.object({
    title: z.string(),
    summary: z.string(),
    rootCause: z.string(),
    contributingFactors: z.array(z.string()),
    whatWentWell: z.array(z.string()),
    lessons: z.object({
      technical: z.array(z.string()),
      process: z.array(z.string()),
      governance: z.array(z.string()),
    }),
    actionItems: z.array(z.object({ item: z.string(), owner: z.string(), due: z.string() })),
    by: z.string(),
    at: z.string(),
  } satisfies FieldsOf<SubmittedPostmortem>),
);

type Item = Record<string, unknown>;

/** Operational items read back as domain values; a malformed item throws rather than passing for one. */
export const fromItem = {
  incident: (item: Item): Incident => incidentSchema().parse(item),
  event: (item: Item): TimelineEvent => eventSchema().parse(item),
  approval: (item: Item): Approval => approvalSchema().parse(item),
  correlation: (item: Item): Correlation => correlationSchema().parse(item),
  customer: (item: Item): Customer => customerSchema().parse(item),
  effect: (item: Item): EffectRecord => effectSchema().parse(item),
  question: (item: Item): EffectQuestion => questionSchema().parse(item),
  workLink: (item: Item): WorkLink => workLinkSchema().parse(item),
  postmortem: (item: Item): SubmittedPostmortem => postmortemItemSchema().parse(item),
} as const;
