/**
 * The case file of seed 000 §4: one page of YAML, field for field as the seed's template, filled
 * from the records — the incident, its timeline, the Effect Ledger and the Decision Log — so it
 * says which world changed, when, and who decided what. It is a function of the records: the same
 * records give the same bytes.
 *
 * A case file travels further than the operational store (to auditors, to a postmortem), so it
 * holds no e-mail address at all: customers appear as counts, approvers by role and name, and an
 * address inside free text (a title, a summary) is withheld.
 *
 * It carries the signed head of the incident's log it was made at (`ledger_head`, beside the seed's
 * fields), so whoever holds it can later ask for a consistency proof from that head and see that
 * the log it summarised was never rewritten.
 */
import { stringify } from 'yaml';
import * as z from 'zod';
import { VERDICT_LABEL } from './approval-policy.ts';
import type { SignedHead } from './checkpoint.ts';
import { withoutEmailAddresses } from './email-address.ts';
import type { Incident, TimelineEvent } from './incident.ts';
import type { LedgerEntry } from './ledger.ts';
import { effectState, isCurrentEntry } from './ledger.ts';
import { isManualEntry } from './manual-entry.ts';
import { standingEntries } from './profit-and-loss.ts';
import { DECLARATION_SOURCE } from './sources/declaration.ts';
import type { Rml3Category, Status } from './vocabulary.ts';
import { WORLDS } from './vocabulary.ts';
import type { Postmortem } from './workroom.ts';

const instant = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, 'must be a UTC ISO 8601 date-time');
const world = z.enum(WORLDS);
const words = z.string().min(1);
const count = z.number().int().nonnegative();

/** The seed's status, with the two ends Casebook adds: cancelled, and closed once the postmortem is in. */
export const CASE_FILE_STATUSES = ['ongoing', 'monitoring', 'resolved', 'cancelled', 'closed'] as const;

/** The impact axis "asset" (seed 001 §3.3). */
export const CASE_FILE_ASSETS = ['money', 'pii', 'legal', 'operational_integrity'] as const;

/**
 * Seed 000 §4's template as a schema: every field the seed has, and no other. Where the seed
 * shows alternatives (`count` or `detail` on a technical action; `template_id` or `channel` on a
 * communication) an item has one of them.
 */
export const caseFileSchema = z.strictObject({
  incident_id: z.string().regex(/^INC-\d{4}-\d{4,}$/),
  title: words,
  rml_world: world,
  status: z.enum(CASE_FILE_STATUSES),
  detected_at: instant,
  detected_by: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('alert'), source: words }),
        z.strictObject({ type: z.literal('cs_ticket'), id: words }),
      ]),
    )
    .min(1),
  classification: z.strictObject({
    severity: z.string().regex(/^SEV-?[1-4]$/),
    asset: z.array(z.enum(CASE_FILE_ASSETS)),
    scope: z.strictObject({
      affected_users_estimate: count.nullable(),
      affected_transactions_estimate: count.nullable(),
    }),
  }),
  timeline: z.array(
    z.strictObject({ at: instant, world, type: z.string().regex(/^[a-z][a-z0-9_]*$/), detail: words }),
  ),
  decisions: z.strictObject({
    summary: words,
    decided_by: z.array(z.strictObject({ role: words, name: words })),
  }),
  actions: z.strictObject({
    technical: z.array(
      z
        .strictObject({ type: words, world, count: count.optional(), detail: words.optional() })
        .refine((a) => (a.count === undefined) !== (a.detail === undefined), 'has a count or a detail'),
    ),
    communication: z.array(
      z
        .strictObject({
          type: words,
          world,
          template_id: words.optional(),
          channel: words.optional(),
          count: count.optional(),
        })
        .refine(
          (a) => (a.template_id === undefined) !== (a.channel === undefined),
          'has a template_id or a channel',
        ),
    ),
  }),
  lessons_learned: z.strictObject({
    technical: z.array(words),
    process: z.array(words),
    governance: z.array(words),
  }),
  /** Not in the seed: the signed head of the incident's log the case file was made at. */
  ledger_head: z
    .strictObject({
      origin: words,
      size: count,
      root: z.string().regex(/^[0-9a-f]{64}$/),
      key_id: z.string().regex(/^[0-9a-f]{8}$/),
      signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
    })
    .optional(),
});
export type CaseFile = z.infer<typeof caseFileSchema>;

/** What a case file is made from. */
export interface CaseRecords {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEvent[];
  /** Effect Ledger entries. */
  readonly ledger: readonly LedgerEntry[];
  /** Decision Log entries. */
  readonly decisions: readonly LedgerEntry[];
  /** The postmortem, once it is in: the lessons come from it. */
  readonly postmortem?: Postmortem;
  /** The signed head of the log the entries above end at; none for a log that has no signed head yet. */
  readonly head?: SignedHead;
}

const STATUS: Readonly<Record<Status, CaseFile['status']>> = {
  OPEN: 'ongoing',
  INVESTIGATING: 'ongoing',
  MITIGATED: 'monitoring',
  RESOLVED: 'resolved',
  CANCELLED: 'cancelled',
  CLOSED: 'closed',
};

/** What each default-to-RML3 category puts at stake (seed 001 §4.1 against the asset axis). */
const CATEGORY_ASSET: Readonly<Record<Rml3Category, CaseFile['classification']['asset'][number]>> = {
  financial_discrepancy: 'money',
  external_misdelivery: 'operational_integrity',
  regulatory_breach: 'legal',
  security_suspicion: 'pii',
};

/** Effect kinds whose confirmed entries are technical actions, counted per kind and world. */
const COUNTED_ACTIONS = new Set(['refund', 'credit', 'charge', 'access_grant', 'correction']);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value : undefined;

/** Builds the case file from the records and checks it against the seed's template. */
export function buildCaseFile(records: CaseRecords): CaseFile {
  const { incident } = records;
  const standing = standingEntries(records.ledger)
    .map((s) => s.entry)
    .filter((e) => effectState(e) === 'confirmed');
  const caseFile: CaseFile = {
    incident_id: incident.id,
    title: incident.title,
    rml_world: incident.world,
    status: STATUS[incident.status],
    detected_at: incident.detectedAt,
    detected_by: [detectedBy(incident)],
    // The responders' assessment of the impact, once they made one; until then what the alert says.
    classification: {
      severity: incident.severity,
      asset: incident.impact
        ? [...incident.impact.assets]
        : [...new Set(incident.categories.map((c) => CATEGORY_ASSET[c]))],
      scope: {
        affected_users_estimate:
          incident.impact?.users ?? incident.customerList?.count ?? incident.alertNamedCustomers ?? 0,
        affected_transactions_estimate: incident.impact?.transactions ?? transactionsEstimate(incident),
      },
    },
    timeline: timelineOf(records),
    decisions: decisionsOf(records),
    actions: withNoticeOutcomes(actionsOf(standing), records.ledger),
    // Lessons come from the postmortem (seed 003's form); until it is written they are empty.
    lessons_learned: records.postmortem
      ? {
          technical: [...records.postmortem.lessons.technical],
          process: [...records.postmortem.lessons.process],
          governance: [...records.postmortem.lessons.governance],
        }
      : { technical: [], process: [], governance: [] },
  };
  const { head } = records;
  // Outside the withholding: a signature is bytes that must stay as they were signed.
  return caseFileSchema.parse({
    ...withheld(caseFile),
    ...(head
      ? {
          ledger_head: {
            origin: head.origin,
            size: head.size,
            root: head.root,
            key_id: head.keyId,
            signature: head.signature,
          },
        }
      : {}),
  });
}

/** What detected it: the CS ticket a person declared it from, or the alert source (and alert name). */
function detectedBy(incident: Incident): CaseFile['detected_by'][number] {
  const ticket = incident.labels.cs_ticket;
  if (incident.source === DECLARATION_SOURCE && ticket) return { type: 'cs_ticket', id: ticket };
  const alertname = incident.labels.alertname;
  return { type: 'alert', source: alertname ? `${incident.source}/${alertname}` : incident.source };
}

/** The payments the plan refunds: each refund goes back to one transaction. Unknown without a plan. */
function transactionsEstimate(incident: Incident): number | null {
  const refunds = incident.plan?.totals.filter((t) => t.kind === 'refund') ?? [];
  return refunds.length > 0 ? refunds.reduce((n, t) => n + t.count, 0) : null;
}

/** The timeline as it was recorded, with what people recorded on the ledger by hand, in time order. */
function timelineOf(records: CaseRecords): CaseFile['timeline'] {
  const events = records.timeline.map((e) => ({ at: e.at, world: e.world, type: e.type, detail: e.summary }));
  const byHand = records.ledger.filter(isManualEntry).map((e) => ({
    at: (isCurrentEntry(e) ? e.effectiveAt : undefined) ?? e.at,
    world: e.world,
    type: e.kind,
    detail: e.summary,
  }));
  // A stable sort: events recorded at the same instant keep the order they were recorded in.
  return [...events, ...byHand].sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * The remediation plan as decided: its summary and the approvers who approved that exact plan
 * (by its hash), by role and name. A plan still waiting, or sent back, says so.
 */
function decisionsOf(records: CaseRecords): CaseFile['decisions'] {
  const plan = records.incident.plan;
  if (!plan) return { summary: 'No remediation plan yet.', decided_by: [] };
  const onThisPlan = records.decisions.filter(
    (d) => d.kind === 'approval' && isCurrentEntry(d) && d.basis?.planHash === plan.hash,
  );
  const approved = onThisPlan.filter((d) => isCurrentEntry(d) && d.decision === 'approve');
  const decided_by = approved.map((d) => ({
    role: (isCurrentEntry(d) ? d.role : undefined) ?? 'approver',
    name: text(d.detail.name) ?? d.actor,
  }));
  const round = records.incident.approvalRound;
  const decided = round?.planHash === plan.hash ? round.decided : undefined;
  const sentBack = records.incident.planRejected;
  // The check before approval sends a plan back with no round: its first line says why, without naming customers.
  const summary = !decided
    ? sentBack?.version === plan.version
      ? `Plan v${plan.version} was sent back before approval (${sentBack.reason.split('\n')[0]?.replace(/:$/, '')}): ${plan.summary}`
      : `Plan v${plan.version}, awaiting approval: ${plan.summary}`
    : decided.verdict === 'approved'
      ? plan.summary
      : `Plan v${plan.version} was sent back (${VERDICT_LABEL[decided.verdict]}: ${decided.reason}): ${plan.summary}`;
  return { summary, decided_by };
}

/**
 * What was done, from the entries that stand confirmed: refunds, credits and corrections counted
 * per kind and world; each operation a person did by hand with what it was; customer messages
 * counted per template and version.
 */
function actionsOf(standing: readonly LedgerEntry[]): CaseFile['actions'] {
  const technical = new Map<string, CaseFile['actions']['technical'][number]>();
  const communication = new Map<string, CaseFile['actions']['communication'][number]>();
  const manual: CaseFile['actions']['technical'] = [];
  for (const entry of standing) {
    const template = text(entry.detail.template);
    if (template && (entry.kind === 'notice' || entry.kind === 'correction')) {
      const version = typeof entry.detail.templateVersion === 'number' ? entry.detail.templateVersion : 1;
      const templateId = `${template}_v${version}`;
      const key = `${templateId}|${entry.world}`;
      const seen = communication.get(key);
      communication.set(key, {
        type: 'user_email',
        world: entry.world,
        template_id: templateId,
        count: (seen?.count ?? 0) + 1,
      });
    } else if (entry.kind === 'manual_operation') {
      manual.push({
        type: entry.kind,
        world: entry.world,
        detail: text(entry.detail.reason) ?? entry.summary,
      });
    } else if (COUNTED_ACTIONS.has(entry.kind)) {
      const key = `${entry.kind}|${entry.world}`;
      const seen = technical.get(key);
      technical.set(key, { type: entry.kind, world: entry.world, count: (seen?.count ?? 0) + 1 });
    }
  }
  return { technical: [...technical.values(), ...manual], communication: [...communication.values()] };
}

/** What SES said became of the notices, counted per outcome as communications (`user_email_bounced`…). */
const NOTICE_OUTCOMES = ['delivered', 'bounced', 'complained', 'rejected'] as const;

/**
 * Says how many customers were told (SES delivered their notice), and how many were not (it
 * bounced or SES rejected it) or complained: each notice counted once per outcome, whatever SES
 * sent twice. Which customers they were, by pseudonym, is on the timeline.
 */
function withNoticeOutcomes(
  actions: CaseFile['actions'],
  ledger: readonly LedgerEntry[],
): CaseFile['actions'] {
  const seen = new Map<string, Set<string>>();
  for (const entry of ledger) {
    const outcome = entry.kind === 'notice_event' ? text(entry.detail.outcome) : undefined;
    const effectId = 'effectId' in entry ? entry.effectId : undefined;
    if (!outcome || !effectId) continue;
    const key = `${outcome}|${entry.world}`;
    seen.set(key, (seen.get(key) ?? new Set()).add(effectId));
  }
  const communication = [...actions.communication];
  for (const outcome of NOTICE_OUTCOMES) {
    for (const [key, notices] of seen) {
      const [what, world] = key.split('|');
      if (what !== outcome) continue;
      communication.push({
        type: `user_email_${outcome}`,
        world: world as CaseFile['rml_world'],
        channel: 'email',
        count: notices.size,
      });
    }
  }
  return { ...actions, communication };
}

/** Every string with the e-mail addresses in it withheld. */
function withheld<T>(value: T): T {
  if (typeof value === 'string') return withoutEmailAddresses(value) as T;
  if (Array.isArray(value)) return value.map(withheld) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withheld(v)])) as T;
  }
  return value;
}

/** The case file as YAML, with a line saying where it came from. */
export function renderCaseFile(caseFile: CaseFile): string {
  const body = stringify(caseFileSchema.parse(caseFile), { lineWidth: 100 });
  return `# Case file of ${caseFile.incident_id} (seed 000 §4), from its incident, timeline, Effect Ledger and Decision Log.\n${body}`;
}
