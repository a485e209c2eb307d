/**
 * The remediation plan the triangle approves (seed 001 §2, seed 000 §2.4): the external effects
 * Casebook will add on top of history — refunds, goodwill credits, notices, corrections — one per
 * affected customer and rule. Approvals refer to the plan by its hash, so a decision always says
 * exactly what it approved, and Act carries out nothing the hash does not cover.
 *
 * A plan can name thousands of customers, so its effects are not inside it: each is an item of its
 * own, and the plan holds their count, their totals and a hash over all of them (streamed over the
 * effects in id order).
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ulid } from 'ulid';
import * as z from 'zod';
import { KIND_LABEL, OBLIGATION_LABEL } from './labels.ts';
import type { Money } from './money.ts';
import { formatMajorAmount, parseMajorAmount, paymentAmountProblem } from './money.ts';
import type { ActionSafety, World } from './vocabulary.ts';

/** What a plan can do for a customer; the same names the ledger records. */
export const PLAN_EFFECT_KINDS = ['refund', 'credit', 'notice', 'correction'] as const;
export type PlanEffectKind = (typeof PLAN_EFFECT_KINDS)[number];

/** The customer messages Casebook can send (`functions/domain/messages.ts` renders them). */
export const NOTICE_TEMPLATES = ['apology', 'refund_confirmation', 'correction'] as const;
export type NoticeTemplate = (typeof NOTICE_TEMPLATES)[number];

/** P&L line (seed 001 §7.2): what the contract requires, or what Business chose beyond it. */
export type Obligation = 'tos' | 'brand';

/**
 * An affected customer as the operational store keeps them: the only place Casebook holds an
 * e-mail address or a name, so they can be erased; everything else names them by pseudonym.
 */
export interface Customer {
  /** The company's own reference for the customer (`cus_…`, an account number). */
  readonly customerRef: string;
  readonly email?: string;
  readonly name?: string;
  /** What the incident cost them, for `"affected"` amounts. */
  readonly amount?: Money;
  readonly productArea?: string;
  /** The charge or PaymentIntent a refund goes back to, whose customer a credit goes to. */
  readonly paymentRef?: string;
  /** When the customer paid (the list's optional `paid_at`): a notice may name their own date. */
  readonly paidAt?: string;
  /**
   * The customer's other addresses (the list's `other_emails`): where a notice to `email` bounced,
   * a responder may send it to one of these, and to no other.
   */
  readonly otherEmails?: readonly string[];
}

/** One effect of the plan, for one customer. Holds no e-mail address and no name. */
export interface PlannedEffect {
  /** `P<version>-E<n>`: unique within the incident; with it, the effect's idempotency key. */
  readonly effectId: string;
  readonly planVersion: number;
  readonly kind: PlanEffectKind;
  readonly customerRef: string;
  /** The customer's pseudonym, as the ledger records it. */
  readonly counterparty: string;
  readonly world: World;
  readonly safety: ActionSafety;
  readonly obligation: Obligation;
  readonly amount?: Money;
  readonly paymentRef?: string;
  readonly productArea?: string;
  readonly template?: NoticeTemplate;
  /**
   * A notice's mention of the customer's goodwill credit in the same plan (its `amount` is what
   * the plan refunds them): the plan's notice names both, and Act renders it from them again.
   */
  readonly credit?: Money;
  /** SHA-256 of the message as rendered for approval: what the approvers read is what is sent. */
  readonly contentHash?: string;
}

export interface PlanTotal {
  readonly kind: PlanEffectKind;
  readonly currency: string | null;
  readonly obligation: Obligation;
  readonly count: number;
  /** Sum in minor units; 0 for effects without money. */
  readonly minor: number;
}

/**
 * The words of the plan's notices: a subject and a body with named placeholders
 * (`functions/domain/messages.ts` NOTICE_PLACEHOLDERS), filled for each customer. Sealed in the
 * plan's hash, and each notice's content hash covers it as filled.
 */
export interface NoticeText {
  readonly subject: string;
  readonly body: string;
}

// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
/** A notice text as the plan form and scripts send it; its placeholders are checked when the plan expands. */
export const noticeTextSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      subject: z.string().trim().min(1, 'is required').max(200, 'must be at most 200 characters'),
      body: z.string().trim().min(1, 'is required').max(10_000, 'must be at most 10000 characters'),
    })
    .strict(),
);

export interface RemediationPlan {
  readonly version: number;
  /**
   * Where this version's effects are stored (`<version>-<ULID>`, see {@link newVersionId}); absent
   * on plans stored before version ids, whose effects are under the bare version number.
   */
  readonly versionId?: string;
  readonly summary: string;
  /** The words its notices send, when the plan has its own (plans without it send the built-in templates). */
  readonly notice?: NoticeText;
  readonly proposedAt: string;
  readonly proposedBy: string;
  readonly effectCount: number;
  /** Per kind, currency and obligation: the ToS line and the brand line (seed 001 §7.2). */
  readonly totals: readonly PlanTotal[];
  /** SHA-256 over every effect, in effect id order. */
  readonly effectsHash: string;
  /** SHA-256 of everything above: what an approval approves. */
  readonly hash: string;
}

/** A rule that expands over the customer list: one effect per customer. */
export const planRuleSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      kind: z.enum(PLAN_EFFECT_KINDS),
      /** A decimal in the currency's major unit, or `affected`: each customer's own amount. */
      amount: z
        .union([
          z.literal('affected'),
          z.string().regex(/^\d{1,15}(\.\d{1,4})?$/, 'must be a decimal such as 12.50'),
        ])
        .optional(),
      currency: z.string().optional(),
      obligation: z.enum(['tos', 'brand']),
      template: z.enum(NOTICE_TEMPLATES).optional(),
    })
    .strict(),
);
export type PlanRule = z.infer<typeof planRuleSchema>;

/** One effect named for one customer. */
export const explicitEffectSchema = /* @__PURE__ */ z.lazy(() =>
  planRuleSchema
    .unwrap()
    .extend({ customerRef: z.string().min(1).max(200) })
    .strict(),
);
export type ExplicitEffect = z.infer<typeof explicitEffectSchema>;

export interface PlanInput {
  readonly summary: string;
  readonly notice?: NoticeText;
  readonly apply: readonly PlanRule[];
  readonly effects: readonly ExplicitEffect[];
}

/** The default world and safety of each kind: every customer-facing effect is history, and risky. */
const KIND_WORLD: Readonly<Record<PlanEffectKind, { world: World; safety: ActionSafety }>> = {
  refund: { world: 'RML3', safety: 'RISKY' },
  credit: { world: 'RML3', safety: 'RISKY' },
  notice: { world: 'RML3', safety: 'RISKY' },
  correction: { world: 'RML3', safety: 'RISKY' },
};

export class PlanRuleError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PlanRuleError';
    this.field = field;
  }
}

/**
 * Expands the plan's rules over the customer list, then adds the effects named one by one. Money
 * is converted exactly by the currency's exponent; a refund or credit needs the payment it goes
 * back to; a notice or correction needs a template and an address to send to.
 */
export function expandPlan(
  version: number,
  input: PlanInput,
  customers: readonly Customer[],
  counterparty: (customerRef: string) => string,
  contentHash: (effect: Omit<PlannedEffect, 'contentHash'>, customer: Customer) => string,
): PlannedEffect[] {
  const byRef = new Map(customers.map((c) => [c.customerRef, c]));
  const requests: { rule: PlanRule; customer: Customer; field: string }[] = [];
  input.apply.forEach((rule, r) => {
    for (const customer of customers) requests.push({ rule, customer, field: `apply[${r}]` });
  });
  input.effects.forEach((rule, e) => {
    const customer = byRef.get(rule.customerRef);
    if (!customer)
      throw new PlanRuleError(`effects[${e}].customerRef`, `${rule.customerRef} is not in the customer list`);
    requests.push({ rule, customer, field: `effects[${e}]` });
  });
  const used = input.notice ? noticePlaceholders(input.notice) : undefined;
  const planned = requests.map(({ rule, customer, field }, i) => {
    const amount = effectAmount(rule, customer, field);
    if ((rule.kind === 'refund' || rule.kind === 'credit') && !customer.paymentRef) {
      throw new PlanRuleError(
        field,
        `${rule.kind} for ${customer.customerRef} needs the customer's payment_ref`,
      );
    }
    if ((rule.kind === 'notice' || rule.kind === 'correction') && !customer.email) {
      throw new PlanRuleError(field, `${rule.kind} for ${customer.customerRef} needs the customer's email`);
    }
    const template =
      rule.template ??
      (rule.kind === 'correction' ? 'correction' : rule.kind === 'notice' ? 'apology' : undefined);
    const effect: Omit<PlannedEffect, 'contentHash'> = {
      effectId: `P${version}-E${i + 1}`,
      planVersion: version,
      kind: rule.kind,
      customerRef: customer.customerRef,
      counterparty: counterparty(customer.customerRef),
      ...KIND_WORLD[rule.kind],
      obligation: rule.obligation,
      ...(amount ? { amount } : {}),
      ...(customer.paymentRef && (rule.kind === 'refund' || rule.kind === 'credit')
        ? { paymentRef: customer.paymentRef }
        : {}),
      ...(customer.productArea ? { productArea: customer.productArea } : {}),
      ...(template && (rule.kind === 'notice' || rule.kind === 'correction') ? { template } : {}),
    };
    return { effect, customer, field };
  });
  const money = used ? customerMoney(planned) : undefined;
  return planned.map(({ effect, customer, field }) => {
    if (!effect.template) return effect;
    const worded =
      used && money && effect.kind === 'notice' ? planWorded(effect, customer, field, used, money) : effect;
    return { ...worded, contentHash: contentHash(worded, customer) };
  });
}

/** The placeholders a notice text may name, each filled per customer. */
export const NOTICE_PLACEHOLDERS = ['name', 'amount_refunded', 'credit', 'incident', 'paid_at'] as const;
export type NoticePlaceholder = (typeof NOTICE_PLACEHOLDERS)[number];

/** `{{ name }}`: a placeholder in a notice text. */
export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * The placeholders a notice text names; an unknown one (or a stray `{{`) is refused, naming it and
 * the field it is in, before anything is written.
 */
export function noticePlaceholders(text: NoticeText): ReadonlySet<NoticePlaceholder> {
  const used = new Set<NoticePlaceholder>();
  for (const part of ['subject', 'body'] as const) {
    for (const [, name = ''] of text[part].matchAll(PLACEHOLDER)) {
      if (!(NOTICE_PLACEHOLDERS as readonly string[]).includes(name)) {
        throw new PlanRuleError(
          `notice.${part}`,
          `unknown placeholder {{${name}}}: use ${NOTICE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        );
      }
      used.add(name as NoticePlaceholder);
    }
    const stray = text[part].replace(PLACEHOLDER, '').match(/\{\{|\}\}/);
    if (stray) {
      throw new PlanRuleError(
        `notice.${part}`,
        `has "${stray[0]}" that is not part of a placeholder such as {{name}}`,
      );
    }
  }
  return used;
}

/** What the plan refunds and credits each customer: the amounts their notice names. */
function customerMoney(
  planned: readonly { effect: Omit<PlannedEffect, 'contentHash'>; field: string }[],
): Map<string, { refund?: Money; credit?: Money }> {
  const sums = new Map<string, { refund?: Money; credit?: Money }>();
  for (const { effect, field } of planned) {
    if ((effect.kind !== 'refund' && effect.kind !== 'credit') || !effect.amount) continue;
    const mine = sums.get(effect.customerRef) ?? {};
    const before = mine[effect.kind];
    if (before && before.currency !== effect.amount.currency) {
      throw new PlanRuleError(
        field,
        `${effect.customerRef} would get a ${effect.kind} in ${before.currency} and in ${effect.amount.currency}: one notice names one amount of each`,
      );
    }
    sums.set(effect.customerRef, {
      ...mine,
      [effect.kind]: { currency: effect.amount.currency, minor: (before?.minor ?? 0) + effect.amount.minor },
    });
  }
  return sums;
}

/**
 * A notice worded by the plan's own text: it carries what the plan refunds the customer (its
 * amount) and credits them, so Act fills the text with exactly what was approved. A placeholder
 * that a customer has no value for is refused, naming the customer.
 */
function planWorded(
  effect: Omit<PlannedEffect, 'contentHash'>,
  customer: Customer,
  field: string,
  used: ReadonlySet<NoticePlaceholder>,
  money: Map<string, { refund?: Money; credit?: Money }>,
): Omit<PlannedEffect, 'contentHash'> {
  const { refund, credit } = money.get(customer.customerRef) ?? {};
  const missing = (placeholder: NoticePlaceholder, what: string) =>
    new PlanRuleError(
      'notice.body',
      `{{${placeholder}}}: ${customer.customerRef} (${field}) ${what}; leave it out, or give every notified customer one`,
    );
  if (used.has('amount_refunded') && !refund) throw missing('amount_refunded', 'gets no refund in this plan');
  if (used.has('credit') && !credit) throw missing('credit', 'gets no credit in this plan');
  if (used.has('paid_at') && !customer.paidAt)
    throw missing('paid_at', 'has no paid_at in the customer list');
  const { amount: _wording, ...rest } = effect;
  return { ...rest, ...(refund ? { amount: refund } : {}), ...(credit ? { credit } : {}) };
}

function effectAmount(rule: PlanRule, customer: Customer, field: string): Money | undefined {
  const needsMoney = rule.kind === 'refund' || rule.kind === 'credit';
  if (rule.amount === undefined) {
    if (needsMoney) throw new PlanRuleError(`${field}.amount`, `a ${rule.kind} needs an amount`);
    return customer.amount && rule.template === 'refund_confirmation' ? customer.amount : undefined;
  }
  if (rule.amount === 'affected') {
    if (!customer.amount)
      throw new PlanRuleError(
        `${field}.amount`,
        `${customer.customerRef} has no amount to use as "affected"`,
      );
    return customer.amount;
  }
  if (!rule.currency) throw new PlanRuleError(`${field}.currency`, 'is required with a decimal amount');
  let amount: Money;
  try {
    amount = parseMajorAmount(rule.amount, rule.currency);
  } catch (error) {
    throw new PlanRuleError(`${field}.amount`, (error as Error).message);
  }
  const problem = paymentAmountProblem(amount);
  if (problem) throw new PlanRuleError(`${field}.amount`, problem);
  return amount;
}

/** Totals per kind, currency and obligation, in a stable order. */
export function planTotals(effects: Iterable<PlannedEffect>): PlanTotal[] {
  const rows = new Map<string, PlanTotal>();
  for (const e of effects) {
    const currency = e.amount?.currency ?? null;
    const key = `${e.kind}|${currency}|${e.obligation}`;
    const row = rows.get(key) ?? { kind: e.kind, currency, obligation: e.obligation, count: 0, minor: 0 };
    rows.set(key, { ...row, count: row.count + 1, minor: row.minor + (e.amount?.minor ?? 0) });
  }
  return [...rows.values()].sort((a, b) =>
    `${a.kind}|${a.currency}|${a.obligation}`.localeCompare(`${b.kind}|${b.currency}|${b.obligation}`),
  );
}

/**
 * The kinds that move money to a customer: the only ones whose sums are money on a page or in an
 * e-mail, as the P&L counts them once confirmed. A notice carries its customer's amount for its
 * wording, never as money of its own.
 */
export const MONEY_KINDS = ['refund', 'credit'] as const satisfies readonly PlanEffectKind[];

const isMoney = (kind: PlanEffectKind) => (MONEY_KINDS as readonly string[]).includes(kind);

/**
 * A plan total as people read it: its money only for the kinds that move money (a notice's row
 * counts its customers and holds no money), so every page and e-mail shows the same sums, equal to
 * the P&L of the same effects once confirmed. The sealed totals stay as they were hashed.
 */
export interface ShownTotal {
  readonly kind: PlanEffectKind;
  readonly obligation: Obligation;
  readonly count: number;
  readonly money?: Money;
}

/** The one function every page and e-mail reads a plan's totals through (money = refunds and credits). */
export function shownTotals(totals: readonly PlanTotal[]): ShownTotal[] {
  const rows = new Map<
    string,
    { kind: PlanEffectKind; obligation: Obligation; count: number; money?: Money }
  >();
  for (const t of totals) {
    const money = isMoney(t.kind) && t.currency ? { minor: t.minor, currency: t.currency } : undefined;
    // A message's rows in several currencies are one row: its customers, without money.
    const key = `${t.kind}|${money?.currency ?? ''}|${t.obligation}`;
    const row = rows.get(key) ?? { kind: t.kind, obligation: t.obligation, count: 0 };
    rows.set(key, {
      ...row,
      count: row.count + t.count,
      ...(money ? { money: { currency: money.currency, minor: (row.money?.minor ?? 0) + money.minor } } : {}),
    });
  }
  return [...rows.values()];
}

/** The plan's money per P&L line and currency: refunds and credits only. */
export function moneyLines(
  totals: readonly PlanTotal[],
): { readonly obligation: Obligation; readonly money: Money }[] {
  const sums = new Map<string, { obligation: Obligation; money: Money }>();
  for (const t of shownTotals(totals)) {
    if (!t.money) continue;
    const key = `${t.obligation}|${t.money.currency}`;
    const minor = (sums.get(key)?.money.minor ?? 0) + t.money.minor;
    sums.set(key, { obligation: t.obligation, money: { currency: t.money.currency, minor } });
  }
  return [...sums.values()].sort(
    (a, b) =>
      (a.obligation === b.obligation ? 0 : a.obligation === 'tos' ? -1 : 1) ||
      a.money.currency.localeCompare(b.money.currency),
  );
}

/** Money as people read it: "EUR 1,234.50". */
export function formatMoney(money: Money): string {
  return `${money.currency} ${formatMajorAmount(money)}`;
}

/** A total as people read it: "Refund EUR 1,234.50 (ToS line, 3 customers)". */
export function describeTotal(total: ShownTotal): string {
  const money = total.money ? ` ${formatMoney(total.money)}` : '';
  return `${KIND_LABEL[total.kind]}${money} (${OBLIGATION_LABEL[total.obligation]}, ${total.count} ${total.count === 1 ? 'customer' : 'customers'})`;
}

/** Every field of a planned effect: what the plan's hash covers, and nothing Act adds. */
const PLANNED_EFFECT_FIELDS = {
  effectId: true,
  planVersion: true,
  kind: true,
  customerRef: true,
  counterparty: true,
  world: true,
  safety: true,
  obligation: true,
  amount: true,
  paymentRef: true,
  productArea: true,
  template: true,
  credit: true,
  contentHash: true,
} as const satisfies Record<keyof PlannedEffect, true>;

/** The planned part of a stored effect (its progress and Act's other fields left out), as it was hashed. */
export function plannedEffectOf(stored: PlannedEffect): PlannedEffect {
  const fields = Object.keys(PLANNED_EFFECT_FIELDS) as (keyof PlannedEffect)[];
  return Object.fromEntries(
    fields.filter((f) => stored[f] !== undefined).map((f) => [f, stored[f]]),
  ) as unknown as PlannedEffect;
}

/** A running SHA-256 over effects fed in id order. */
export function effectsHasher(): { add(effect: PlannedEffect): void; digest(): string } {
  const hash = createHash('sha256');
  return {
    add: (effect) => hash.update(`${canonicalize(effect)}\n`, 'utf8'),
    digest: () => hash.digest('hex'),
  };
}

/**
 * A new id for the rows of a customer list or plan version: `<version>-<ULID>`, unique to the
 * request that writes them. Rows are written under it before the incident names it, so the rows of
 * a request that loses its race for the incident (or fails) are under an id nothing reads.
 */
export function newVersionId(version: number): string {
  return `${version}-${ulid()}`;
}

/** The id a list or plan version's rows are stored under (older ones: the bare version number). */
export function versionIdOf(v: { readonly version: number; readonly versionId?: string }): string {
  return v.versionId ?? String(v.version);
}

/** Seals a plan's content with its hash. `effects` must be in effect id order. */
export function sealPlan(
  content: Pick<
    RemediationPlan,
    'version' | 'versionId' | 'summary' | 'notice' | 'proposedAt' | 'proposedBy'
  >,
  effects: readonly PlannedEffect[],
): RemediationPlan {
  const hasher = effectsHasher();
  for (const effect of effects) hasher.add(effect);
  const body = {
    ...content,
    effectCount: effects.length,
    totals: planTotals(effects),
    effectsHash: hasher.digest(),
  };
  return {
    ...body,
    hash: createHash('sha256')
      .update(canonicalize(body) ?? '', 'utf8')
      .digest('hex'),
  };
}

/** What an approver saw of a plan: enough to tell them later what changed since. */
export interface PlanSnapshot {
  readonly version: number;
  readonly summary: string;
  /** The notice text the approver read, so a later round can say the customers' words changed. */
  readonly notice?: NoticeText;
  readonly effectCount: number;
  readonly totals: readonly PlanTotal[];
}

export function planSnapshot(plan: RemediationPlan): PlanSnapshot {
  return {
    version: plan.version,
    summary: plan.summary,
    ...(plan.notice ? { notice: plan.notice } : {}),
    effectCount: plan.effectCount,
    totals: plan.totals,
  };
}

/**
 * What changed from one plan version to another, a line each, as an approver who saw `before`
 * reads it: the summary, the number of effects, and each total (kind, currency, ToS or brand line)
 * that appeared, went, or changed its count or sum.
 */
export function planChanges(before: PlanSnapshot, after: PlanSnapshot): string[] {
  const lines: string[] = [];
  if (before.summary !== after.summary) lines.push(`Summary was: ${before.summary}`);
  if (before.notice?.subject !== after.notice?.subject || before.notice?.body !== after.notice?.body) {
    lines.push(
      before.notice?.subject === after.notice?.subject
        ? "The customers' notice changed: read it again below"
        : `The customers' notice changed; its subject was: ${before.notice?.subject ?? "the template's own"}`,
    );
  }
  if (before.effectCount !== after.effectCount) {
    lines.push(`Effects: ${before.effectCount} → ${after.effectCount}`);
  }
  const key = (t: ShownTotal) => `${t.kind}|${t.money?.currency ?? ''}|${t.obligation}`;
  const label = (t: ShownTotal) =>
    `${KIND_LABEL[t.kind]}${t.money ? ` ${t.money.currency}` : ''} (${OBLIGATION_LABEL[t.obligation]})`;
  const amount = (t: ShownTotal) => `${t.count}${t.money ? `, ${formatMoney(t.money)}` : ''}`;
  const was = new Map(shownTotals(before.totals).map((t) => [key(t), t]));
  const now = new Map(shownTotals(after.totals).map((t) => [key(t), t]));
  for (const [k, t] of now) {
    const old = was.get(k);
    if (!old) lines.push(`Added ${label(t)}: ${amount(t)}`);
    else if (old.count !== t.count || old.money?.minor !== t.money?.minor)
      lines.push(`${label(t)}: ${amount(old)} → ${amount(t)}`);
  }
  for (const [k, t] of was) if (!now.has(k)) lines.push(`Removed ${label(t)}: was ${amount(t)}`);
  return lines;
}
