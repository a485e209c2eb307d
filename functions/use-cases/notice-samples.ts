/**
 * The customers' messages a plan sends, rendered exactly as Act will send them (the same
 * function, the same values): for the approvers, one of each wording the plan sends — its own
 * text or a built-in template, with or without a credit — and, for the responders writing it, the
 * first customers' own.
 */
import type { EffectRecord } from '../domain/effects.ts';
import type { Incident } from '../domain/incident.ts';
import { TEMPLATE_LABEL } from '../domain/labels.ts';
import { effectNotice } from '../domain/messages.ts';
import { versionIdOf } from '../domain/plan.ts';
import type { EffectStore, MailMessage } from '../domain/ports.ts';

export interface NoticeSample {
  /** Which wording, as people read it: "the plan's notice, with a credit", "Correction". */
  readonly label: string;
  /** How many customers get this wording. */
  readonly count: number;
  /** The message as its first customer gets it. */
  readonly message: MailMessage;
}

type Deps = { readonly effects: Pick<EffectStore, 'listEffects' | 'getEffect' | 'getCustomer'> };

/** The wording an effect's message has: the plan's own text (with or without a credit) or a template. */
function wordingOf(incident: Incident, effect: EffectRecord): string | undefined {
  if (!effect.template) return undefined;
  if (effect.kind === 'notice' && incident.plan?.notice) {
    return effect.credit ? "the plan's notice, with a credit" : "the plan's notice";
  }
  return TEMPLATE_LABEL[effect.template];
}

/** The message an effect sends its customer, or undefined when the list no longer has them. */
async function messageOf(
  deps: Deps,
  incident: Incident,
  effect: EffectRecord,
): Promise<MailMessage | undefined> {
  const list = incident.customerList;
  const customer = list
    ? await deps.effects.getCustomer(incident.id, versionIdOf(list), effect.customerRef)
    : undefined;
  return customer ? effectNotice(incident, incident.plan?.notice, effect, customer) : undefined;
}

/** One message of each wording the plan sends, as its first recipient gets it. */
export async function noticeSamples(deps: Deps, incident: Incident): Promise<NoticeSample[]> {
  const plan = incident.plan;
  if (!plan) return [];
  const first = new Map<string, { effect: EffectRecord; count: number }>();
  let cursor: string | undefined;
  do {
    const page = await deps.effects.listEffects(incident.id, versionIdOf(plan), cursor);
    for (const effect of page.items) {
      const wording = wordingOf(incident, effect);
      if (!wording) continue;
      const seen = first.get(wording);
      first.set(wording, { effect: seen?.effect ?? effect, count: (seen?.count ?? 0) + 1 });
    }
    cursor = page.cursor;
  } while (cursor);
  const samples: NoticeSample[] = [];
  for (const [label, { effect, count }] of first) {
    const message = await messageOf(deps, incident, effect);
    if (message) samples.push({ label, count, message });
  }
  return samples;
}

/** How many rules a plan may apply (the plan schema's bound): the blocks the preview looks at. */
const MAX_RULES = 20;

/**
 * The first `limit` customers' notices of the plan, each with its own values: the workroom's
 * preview while the plan is written and decided on (later the customers have them). A rule gives
 * one effect per customer, in list order, so the effects of rule k start at `E(k·n + 1)`: the
 * preview reads the first effect of each rule and the first few of a notice rule, never every
 * effect of a large plan.
 */
export async function noticePreview(deps: Deps, incident: Incident, limit = 3): Promise<MailMessage[]> {
  const plan = incident.plan;
  const n = incident.customerList?.count ?? 0;
  if (!plan || n === 0 || (incident.phase !== 'Understand' && incident.phase !== 'Decide')) return [];
  const effectAt = (i: number) =>
    deps.effects.getEffect(incident.id, versionIdOf(plan), `P${plan.version}-E${i}`);
  const messages: MailMessage[] = [];
  for (let k = 0; k < MAX_RULES && k * n < plan.effectCount && messages.length < limit; k++) {
    const first = await effectAt(k * n + 1);
    if (!first?.template) continue;
    for (let i = k * n + 1; i <= Math.min((k + 1) * n, plan.effectCount) && messages.length < limit; i++) {
      const effect = i === k * n + 1 ? first : await effectAt(i);
      const message = effect?.template ? await messageOf(deps, incident, effect) : undefined;
      if (message) messages.push(message);
    }
  }
  return messages;
}
