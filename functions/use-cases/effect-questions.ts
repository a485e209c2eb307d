/**
 * Use cases: asking people about an effect Act could not settle by itself — a notice that may or
 * may not have gone out, a payment the provider refused, a refund to be done by hand — and
 * recording their answer. The same questions ask the SRE lead about a whole plan whose stored
 * effects are not the approved ones (keyed by the plan, `P<n>`); answering one moves no effect.
 *
 * Primary course (ask):
 *  1. Write the question once per effect and attempt, with a link of their own for each responder
 *     (a random secret; only its hash is stored).
 *  2. E-mail each responder their link and put the question on the timeline. Asking again before
 *     the e-mails went out sends them (with fresh links); after, it changes nothing — unless the
 *     question holds an answer that a failed request recorded and left undone: that answer is
 *     carried out then, so an effect never waits for a person with no question open.
 *
 * Primary course (answer):
 *  1. Check the link and the answer.
 *  2. Record the answer on the question (only one racing answer can; a different answer than the
 *     one on record is a conflict, the same one again finishes what was left undone), then on the Decision Log:
 *     who, what, and on what basis (their note, the reference they give).
 *  3. Move the effect: confirmed (sent, done by hand — an Effect Ledger entry says who and with what
 *     reference), a new attempt (not sent, retry), or voided (a correction entry names the intent).
 *     A bounced notice answered "resend" is sent at once, as a new attempt, to the other address
 *     from the customer list the person chose: the approved words, only the recipient changed.
 *  4. When no question of the incident is open any more, end the wait of Act in the state machine.
 */
import { randomBytes } from 'node:crypto';
import type { AttentionReason, EffectAnswer, EffectQuestion, EffectRecord } from '../domain/effects.ts';
import {
  ATTENTION_ANSWERS,
  effectStateEntry,
  formatQuestionId,
  isPlanQuestion,
  otherAddresses,
  parseQuestionId,
  planQuestionId,
} from '../domain/effects.ts';
import {
  ConflictError,
  DeliveryRejectedError,
  GoneError,
  InvalidInputError,
  NotFoundError,
  retryLater,
} from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { sha256Hex } from '../domain/json.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { isCurrentEntry } from '../domain/ledger.ts';
import { effectNotice, effectQuestionEmail, messageHash, planMismatchEmail } from '../domain/messages.ts';
import type { SentNotices } from '../domain/notice-events.ts';
import type { Customer } from '../domain/plan.ts';
import { versionIdOf } from '../domain/plan.ts';
import type {
  AskAboutEffect,
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  Mailer,
  QuestionStore,
  SentMailLog,
  SentMailRecord,
  WaitStore,
  Workflow,
} from '../domain/ports.ts';
import type { RateLimiter } from './carry-out-effects.ts';
import { endWait } from './hold-for-people.ts';

export interface AskDeps {
  readonly questions: QuestionStore;
  readonly incidents: Pick<IncidentStore, 'addTimelineEvent'>;
  readonly effects: Pick<EffectStore, 'advanceEffect' | 'getEffect' | 'getCustomer'>;
  readonly ledger: Ledger;
  /** The mailer and rate limit Act's notices go through: questions share SES's sending rate. */
  readonly mailer: Mailer;
  readonly rate: RateLimiter;
  readonly responders: readonly string[];
  /** Asked in their stead when SES refuses a responder's question e-mail. */
  readonly sreLead: string;
  readonly publicBaseUrl: string;
  readonly clock: Clock;
  /**
   * How a bounced notice is sent to another address (the notices' mailer, under the configuration
   * set, and where its MessageId is kept): with it, an answer "resend" that a failed request left
   * undone is carried out when the effect is asked about again; without it, on the next post.
   */
  readonly resend?: Pick<ResendDeps, 'mailer' | 'sentNotices'>;
}

/** What sending a bounced notice to another address takes. */
export interface ResendDeps {
  readonly mailer: Mailer;
  /** SES's sending rate, shared with the questions' e-mails. */
  readonly rate: RateLimiter;
  readonly sentNotices: Pick<SentNotices, 'remember'>;
  /** How long SES is given to answer a resend (default {@link RESEND_ANSWER_MS}); past it, the resend is in doubt. */
  readonly answerWithinMs?: number;
  /** Asks about the new attempt when SES refused it or left it unknown whether it went out. */
  readonly ask: AskAboutEffect;
}

/**
 * How long a resend waits for SES's answer (which takes well under a second): short enough that
 * the page's request, 15 s at most, still has the time to ask about it as in doubt and e-mail the
 * responders at the page's rate. A request that claimed the attempt is then done with SES by
 * {@link RESEND_GRACE_MS} after its claim, or dead: only past that grace may another request take
 * the attempt over, so a resend still under way is never asked about as if it had died.
 */
export const RESEND_ANSWER_MS = 5_000;
/** The send's bound, the ledger's and the table's writes around it, and ample margin. */
export const RESEND_GRACE_MS = 60_000;

/** The resend an ask's dependencies can make, if they hold the notices' mailer. */
function resendOf(deps: AskDeps): ResendDeps | undefined {
  return deps.resend
    ? {
        ...deps.resend,
        rate: deps.rate,
        ask: (incident, effect, reason, detail) => askAboutEffect(deps, incident, effect, reason, detail),
      }
    : undefined;
}

export async function askAboutEffect(
  deps: AskDeps,
  incident: Incident,
  effect: EffectRecord,
  reason: EffectQuestion['reason'],
  detail: string,
): Promise<EffectRecord | undefined> {
  // 1.
  const existing = await deps.questions.getQuestion(incident.id, effect.effectId, effect.attempt);
  if (existing?.answered) {
    await carryOutAnswer({ ...deps, resend: resendOf(deps) }, incident, effect, existing, existing.answered);
    return deps.effects.getEffect(
      incident.id,
      versionIdOf(incident.plan ?? { version: effect.planVersion }),
      effect.effectId,
    );
  }
  if (existing?.emailedAt) return undefined;
  const lead = deps.responders.some((to) => to.toLowerCase() === deps.sreLead.toLowerCase())
    ? []
    : [deps.sreLead];
  const secrets = [...deps.responders, ...lead].map((to) => ({
    to,
    secret: randomBytes(32).toString('base64url'),
  }));
  const links = Object.fromEntries(secrets.map(({ to, secret }) => [sha256Hex(secret), to]));
  const at = deps.clock.now().toISOString();
  const question: EffectQuestion = {
    incidentId: incident.id,
    effectId: effect.effectId,
    attempt: effect.attempt,
    reason,
    detail,
    askedAt: existing?.askedAt ?? at,
    links,
  };
  if (existing) await deps.questions.replaceLinks(question);
  else if (!(await deps.questions.createQuestion(question))) return undefined;

  // 2.
  /** Sends the question to one person; the reason SES refused it, or undefined when it took it. */
  const send = async ({ to, secret }: (typeof secrets)[number], why: string) => {
    const id = formatQuestionId({
      incidentId: incident.id,
      effectId: effect.effectId,
      attempt: effect.attempt,
      secret,
    });
    await deps.rate.take();
    try {
      await deps.mailer.send(
        effectQuestionEmail(incident, effect, reason, why, to, `${deps.publicBaseUrl}/effects/${id}`),
      );
      return undefined;
    } catch (error) {
      return refusal(error);
    }
  };
  const refused: { to: string; reason: string }[] = [];
  for (const person of secrets.slice(0, deps.responders.length)) {
    const why = await send(person, detail);
    if (why) refused.push({ to: person.to, reason: why });
  }
  if (refused.length > 0) await escalateUndelivered();
  await deps.questions.markEmailed(
    incident.id,
    effect.effectId,
    effect.attempt,
    deps.clock.now().toISOString(),
  );
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `question:${effect.effectId}:${effect.attempt}`,
    at,
    world: 'RML3',
    type: 'effect_needs_person',
    phase: 'Act',
    summary: `${effect.kind} ${effect.effectId} needs a person (${reason}): ${detail}`,
    detail: { effectId: effect.effectId, attempt: effect.attempt, reason },
  });
  return undefined;

  /**
   * A question SES refused to e-mail (an unverified or bouncing address) holds up nothing: it is
   * recorded, and the SRE lead gets it with a link of their own — unless they were among those refused.
   */
  async function escalateUndelivered(): Promise<void> {
    const names = refused.map((r) => r.to).join(', ');
    const leadSecret = secrets[deps.responders.length];
    const leadRefused = refused.some((r) => r.to.toLowerCase() === deps.sreLead.toLowerCase());
    const leadWhy =
      leadSecret && !leadRefused
        ? await send(
            leadSecret,
            `This question could not be e-mailed to ${names} (SES refused it); answer it, or pass it on. ${detail}`,
          )
        : undefined;
    const asked = leadRefused || leadWhy ? undefined : deps.sreLead;
    await deps.incidents.addTimelineEvent(incident.id, {
      key: `question-undelivered:${effect.effectId}:${effect.attempt}`,
      at,
      world: 'RML3',
      type: 'escalated',
      phase: 'Act',
      summary:
        `The question about ${effect.kind} ${effect.effectId} could not be e-mailed to ${names} (${refused[0]?.reason}); ${
          asked
            ? `the SRE lead (${asked}) has it`
            : `nobody else could be told${leadWhy ? ` (the SRE lead's e-mail was refused too: ${leadWhy})` : ''}; its deadline still runs`
        }`.slice(0, 2000),
      detail: {
        kind: 'question-undelivered',
        effectId: effect.effectId,
        attempt: effect.attempt,
        refused: refused.map((r) => ({ to: r.to, reason: r.reason })),
        asked: asked ?? null,
      },
    });
  }
}

/**
 * Why SES refused a question e-mail; anything but a refusal (no answer, or SES throttling, which a
 * later run gets past) is thrown, so the step is tried again.
 */
function refusal(error: unknown): string {
  if (!(error instanceof DeliveryRejectedError)) throw error;
  if (error.busy) throw retryLater(error);
  return error.message;
}

/**
 * Asks the SRE lead (`deps.responders`) about a plan whose stored effects do not match the approved
 * plan. One question per check that found them so: asked again after an answer, it is a new one.
 */
export async function askAboutPlan(
  deps: AskDeps,
  incident: Incident,
  planVersion: number,
  detail: string,
): Promise<void> {
  const effectId = planQuestionId(planVersion);
  let attempt = 1;
  let existing = await deps.questions.getQuestion(incident.id, effectId, attempt);
  while (existing?.answered) existing = await deps.questions.getQuestion(incident.id, effectId, ++attempt);
  if (existing?.emailedAt) return;
  const secrets = deps.responders.map((to) => ({ to, secret: randomBytes(32).toString('base64url') }));
  const at = deps.clock.now().toISOString();
  const question: EffectQuestion = {
    incidentId: incident.id,
    effectId,
    attempt,
    reason: 'plan-mismatch',
    detail,
    askedAt: existing?.askedAt ?? at,
    links: Object.fromEntries(secrets.map(({ to, secret }) => [sha256Hex(secret), to])),
  };
  if (existing) await deps.questions.replaceLinks(question);
  else if (!(await deps.questions.createQuestion(question))) return;
  const refused: { to: string; reason: string }[] = [];
  for (const { to, secret } of secrets) {
    const id = formatQuestionId({ incidentId: incident.id, effectId, attempt, secret });
    await deps.rate.take();
    try {
      await deps.mailer.send(
        planMismatchEmail(incident, planVersion, detail, to, `${deps.publicBaseUrl}/effects/${id}`),
      );
    } catch (error) {
      refused.push({ to, reason: refusal(error) });
    }
  }
  if (refused.length > 0)
    await deps.incidents.addTimelineEvent(incident.id, {
      key: `question-undelivered:${effectId}:${attempt}`,
      at,
      world: 'RML3',
      type: 'escalated',
      phase: 'Act',
      summary:
        `The question about plan v${planVersion} could not be e-mailed to ${refused.map((r) => r.to).join(', ')} (${refused[0]?.reason}); its deadline still runs`.slice(
          0,
          2000,
        ),
      detail: { kind: 'question-undelivered', effectId, attempt, refused, asked: null },
    });
  await deps.questions.markEmailed(incident.id, effectId, attempt, deps.clock.now().toISOString());
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `question:${effectId}:${attempt}`,
    at,
    world: 'RML3',
    type: 'effect_needs_person',
    phase: 'Act',
    summary: `Plan v${planVersion} needs the SRE lead (plan-mismatch): ${detail}`,
    detail: { effectId, attempt, reason: 'plan-mismatch' },
  });
}

export interface AnswerDeps {
  readonly questions: QuestionStore;
  readonly waits: WaitStore;
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly effects: EffectStore;
  readonly ledger: Ledger;
  readonly workflow: Workflow;
  readonly clock: Clock;
  /** Where the mail service's own log can be read (the local SES emulator's store); absent on AWS. */
  readonly sentMail?: SentMailLog;
  /** Without it, a bounced notice cannot be sent to another address from the page: "resend" is not offered. */
  readonly resend?: ResendDeps;
}

/** What the question page shows. */
export interface QuestionView {
  readonly question: EffectQuestion;
  readonly incident: Incident;
  /** The effect asked about; absent for a question about the whole plan. */
  readonly effect?: EffectRecord;
  /** The responder the link was sent to. */
  readonly askedOf: string;
  /**
   * The customer's address the attempt went to (the list's email, or the other address a person
   * resent it to), for checking whether a notice went out (operational store only).
   */
  readonly customerEmail?: string;
  /**
   * For a notice in doubt, what the mail service's log says about it: the messages it took to
   * this customer with this notice's subject since the log began; undefined where it cannot be read.
   */
  readonly mailLog?: SentMailRecord;
  /**
   * For a bounced notice: the customer's other addresses on the list it has not gone to yet, which
   * "resend" may choose from (empty: the list holds no other, and "resend" is not offered).
   */
  readonly otherAddresses?: readonly string[];
  readonly answers: readonly EffectAnswer['answer'][];
  /** For a bounced notice answered "resend": what became of sending it to the address chosen. */
  readonly resend?: ResendOutcome;
  /** When the view was read, by the deps' clock: the page says how long ago things were from it. */
  readonly now: Date;
}

/**
 * What became of a resend, read from where its attempt stands: `sending` (a request is at it),
 * `stalled` (nothing is, and SES's answer is not known: the same answer again finishes it), `sent`,
 * `refused` (SES refused it) or `in-doubt` (SES did not answer) — both asked about as the next
 * attempt's question (`asked`: its e-mails went out) — or `later` (attempts after it moved on).
 */
export interface ResendOutcome {
  readonly attempt: number;
  readonly outcome: 'sending' | 'stalled' | 'sent' | 'refused' | 'in-doubt' | 'later';
  readonly providerRef?: string;
  readonly detail?: string;
  readonly asked?: boolean;
}

async function resendOutcomeOf(
  deps: Pick<AnswerDeps, 'questions' | 'clock'>,
  incidentId: string,
  effect: EffectRecord,
  question: EffectQuestion,
): Promise<ResendOutcome> {
  const attempt = question.attempt + 1;
  if (effect.attempt > attempt) return { attempt, outcome: 'later' };
  if (effect.attempt < attempt || effect.progress === 'planned') return { attempt, outcome: 'stalled' };
  if (effect.progress === 'intent')
    return { attempt, outcome: resendStalled(effect, deps.clock.now()) ? 'stalled' : 'sending' };
  if (effect.progress === 'attention') {
    const asked = Boolean(
      (await deps.questions.getQuestion(incidentId, effect.effectId, attempt))?.emailedAt,
    );
    return {
      attempt,
      outcome: effect.attention?.reason === 'in-doubt' ? 'in-doubt' : 'refused',
      ...(effect.attention ? { detail: effect.attention.detail } : {}),
      asked,
    };
  }
  return { attempt, outcome: 'sent', ...(effect.providerRef ? { providerRef: effect.providerRef } : {}) };
}

async function authorize(
  deps: Pick<AnswerDeps, 'questions' | 'incidents' | 'effects' | 'sentMail' | 'clock' | 'resend'>,
  questionId: string,
): Promise<QuestionView> {
  const ref = parseQuestionId(questionId);
  const question = ref
    ? await deps.questions.getQuestion(ref.incidentId, ref.effectId, ref.attempt)
    : undefined;
  const askedOf = ref && question ? question.links[sha256Hex(ref.secret)] : undefined;
  const incident = ref && askedOf ? await deps.incidents.getIncident(ref.incidentId) : undefined;
  const aboutPlan = ref !== undefined && isPlanQuestion(ref.effectId);
  // Only the committed plan's effects are asked about: read them through the id it names.
  const effect =
    ref && !aboutPlan && incident?.plan
      ? await deps.effects.getEffect(incident.id, versionIdOf(incident.plan), ref.effectId)
      : undefined;
  // One answer for malformed, unknown and forged links: the page reveals nothing either way.
  if (!question || !askedOf || !incident || !(effect || aboutPlan))
    throw new NotFoundError('No such question');
  // A question's links end with its incident: once it is closed or cancelled nothing more is recorded
  // on it — except how a customer whose notice bounced after the close was reached after all.
  const afterClose = question.reason === 'bounced' && incident.status === 'CLOSED';
  if ((incident.status === 'CLOSED' || incident.status === 'CANCELLED') && !afterClose) {
    throw new GoneError(
      `${incident.id} is ${incident.status === 'CLOSED' ? 'closed' : 'cancelled'}; this question's link no longer works`,
    );
  }
  const list = incident.customerList;
  const customer =
    list && effect
      ? await deps.effects.getCustomer(incident.id, versionIdOf(list), effect.customerRef)
      : undefined;
  const resent =
    (question.reason === 'bounced' || question.reason === 'in-doubt') && effect && customer
      ? await resentTo(deps, incident.id, effect.effectId, question.attempt)
      : undefined;
  const others =
    question.reason === 'bounced' && resent && customer
      ? otherAddresses(
          customer,
          resent.map((r) => r.address),
        )
      : undefined;
  // The attempt asked about went where the answer that made it sent it; the first, to the list's email.
  const sentTo = resent?.find((r) => r.attempt === question.attempt - 1)?.address ?? customer?.email;
  const mailLog =
    question.reason === 'in-doubt' && effect && customer && sentTo && deps.sentMail
      ? await deps.sentMail.find(
          sentTo,
          effectNotice(incident, incident.plan?.notice, effect, customer).subject,
        )
      : undefined;
  const canResend = others !== undefined && others.length > 0 && deps.resend !== undefined;
  const resendOutcome =
    question.answered?.answer === 'resend' && effect
      ? await resendOutcomeOf(deps, incident.id, effect, question)
      : undefined;
  return {
    question,
    incident,
    ...(effect ? { effect } : {}),
    askedOf,
    ...(sentTo ? { customerEmail: sentTo } : {}),
    ...(mailLog ? { mailLog } : {}),
    ...(others ? { otherAddresses: others } : {}),
    ...(resendOutcome ? { resend: resendOutcome } : {}),
    answers: ATTENTION_ANSWERS[question.reason].filter((a) => a !== 'resend' || canResend),
    now: deps.clock.now(),
  };
}

/**
 * The addresses earlier attempts of the effect were resent to, each chosen in the answer to the
 * question about the attempt before it (`attempt`: that question's).
 */
async function resentTo(
  deps: Pick<AnswerDeps, 'questions'>,
  incidentId: string,
  effectId: string,
  attempt: number,
): Promise<{ readonly attempt: number; readonly address: string }[]> {
  const earlier = await Promise.all(
    Array.from({ length: attempt - 1 }, (_, i) => deps.questions.getQuestion(incidentId, effectId, i + 1)),
  );
  return earlier.flatMap((q) =>
    q?.answered?.address ? [{ attempt: q.attempt, address: q.answered.address }] : [],
  );
}

/** Loads what the question page shows. Reads only. */
export function viewQuestion(deps: AnswerDeps, questionId: string): Promise<QuestionView> {
  return authorize(deps, questionId);
}

/** Validates a posted answer: which answers the question allows, a reference where one is needed. */
export function parseAnswer(
  fields: Readonly<Record<string, string>>,
  allowed: readonly EffectAnswer['answer'][],
  addresses: readonly string[] = [],
): EffectAnswer {
  const answer = fields.answer as EffectAnswer['answer'];
  const note = (fields.note ?? '').trim();
  const reference = (fields.reference ?? '').trim();
  const wanted = (fields.address ?? '').trim().toLowerCase();
  const address = addresses.find((a) => a.toLowerCase() === wanted);
  const issues = [];
  if (!allowed.includes(answer))
    issues.push({ field: 'answer', message: `must be one of ${allowed.join(', ')}` });
  if (answer === 'done-by-hand' && !/^\S{1,200}$/.test(reference))
    issues.push({
      field: 'reference',
      message: 'is required: the provider reference of what was done by hand',
    });
  if ((answer === 'void' || answer === 'sent') && note.length === 0)
    issues.push({ field: 'note', message: `is required when answering "${answer}": say on what basis` });
  // Answering "not sent" sends the notice again: a second notice if the first did go out.
  if (answer === 'not-sent' && note.length === 0)
    issues.push({
      field: 'note',
      message:
        'is required when answering "not-sent": say what showed it was not sent (the customer’s mailbox, the mail provider’s log)',
    });
  if (answer === 'resend' && !address)
    issues.push({
      field: 'address',
      message: `must be one of the customer's other addresses on the list: ${addresses.join(', ')}`,
    });
  if (note.length > 2000) issues.push({ field: 'note', message: 'must be at most 2000 characters' });
  if (issues.length > 0) throw new InvalidInputError(issues);
  if (answer === 'resend') return { answer, address: address as string, note };
  return answer === 'done-by-hand' ? { answer, reference, note } : { answer, note };
}

export async function answerQuestion(
  deps: AnswerDeps,
  questionId: string,
  fields: Readonly<Record<string, string>>,
): Promise<{ readonly view: QuestionView; readonly resumedWorkflow: boolean }> {
  // 1.
  const view = await authorize(deps, questionId);
  const { question, incident, effect, askedOf } = view;
  const answer = parseAnswer(fields, view.answers, view.otherAddresses);
  if (answer.answer === 'resend' && effect && !(await approvedNotice(deps, incident, effect))) {
    throw new ConflictError(
      'The notice would differ from the one the approvers read (its content hash changed): it cannot be sent again. Void it and propose a new plan.',
    );
  }

  // 2.
  let answered: NonNullable<EffectQuestion['answered']> = {
    answer: answer.answer,
    by: askedOf,
    at: deps.clock.now().toISOString(),
    note: answer.note,
    ...('reference' in answer ? { reference: answer.reference } : {}),
    ...(answer.answer === 'resend' ? { address: answer.address } : {}),
  };
  const subject = question.effectId;
  const recorded =
    !question.answered &&
    (await deps.questions.answerQuestion(incident.id, subject, question.attempt, answered));
  if (!recorded) {
    // The same answer from the same person again finishes what a request that failed part-way
    // left undone; anything else is a conflict with the answer on record.
    const earlier =
      question.answered ??
      (await deps.questions.getQuestion(incident.id, subject, question.attempt))?.answered;
    if (
      !earlier ||
      earlier.answer !== answer.answer ||
      earlier.by !== askedOf ||
      earlier.address !== answered.address
    ) {
      throw new ConflictError(`Already answered "${earlier?.answer}" by ${earlier?.by} at ${earlier?.at}`);
    }
    answered = earlier;
  }
  const logged =
    answered.answer === 'sent' && effect && !effect.providerRef ? loggedMessageId(view) : undefined;
  await carryOutAnswer(
    deps,
    incident,
    effect && logged ? { ...effect, providerRef: logged } : effect,
    question,
    answered,
  );

  // 4.
  const resumedWorkflow =
    (await deps.questions.openQuestions(incident.id)).length === 0 &&
    (await endWait(deps, incident.id, 'act', { result: { settledBy: askedOf, at: answered.at } }));
  return { view: { ...view, question: { ...question, answered } }, resumedWorkflow };
}

/**
 * The MessageId of a notice in doubt, where the mail service's log holds exactly one message with
 * its subject to its address since its intent: that one is it. Two or more, or none, name nothing.
 */
function loggedMessageId(view: QuestionView): string | undefined {
  const intentAt = Date.parse(view.effect?.intentAt ?? '');
  if (Number.isNaN(intentAt)) return undefined;
  const since = (view.mailLog?.messages ?? []).filter((m) => Date.parse(m.at) >= intentAt);
  return since.length === 1 ? since[0]?.messageId : undefined;
}

/**
 * Steps 2 (the Decision Log) and 3 of answering, from the answer on record: each write is keyed,
 * so carrying it out again — the same person answering again, or Act finding an answer a failed
 * request left undone — finishes what is missing and adds nothing twice.
 */
async function carryOutAnswer(
  deps: Pick<AskDeps, 'incidents' | 'ledger' | 'effects' | 'clock' | 'questions'> & {
    readonly resend?: ResendDeps | undefined;
  },
  incident: Incident,
  effect: EffectRecord | undefined,
  question: EffectQuestion,
  answered: NonNullable<EffectQuestion['answered']>,
): Promise<void> {
  const { at, by: askedOf } = answered;
  const subject = question.effectId;
  const answer: EffectAnswer =
    answered.answer === 'done-by-hand'
      ? { answer: 'done-by-hand', reference: answered.reference ?? '', note: answered.note }
      : answered.answer === 'resend'
        ? { answer: 'resend', address: answered.address ?? '', note: answered.note }
        : ({ answer: answered.answer, note: answered.note } as EffectAnswer);
  const plan = incident.plan;
  const basis = {
    ...(plan ? { planVersion: plan.version, planHash: plan.hash } : {}),
    policy: `question ${subject} attempt ${question.attempt} (${question.reason})`,
  };
  const what = effect ? `${effect.kind} ${effect.effectId}` : `plan v${subject.slice(1)}`;
  const world = effect?.world ?? 'RML3';
  const { entry: decision } = await deps.ledger.append(incident.id, {
    log: 'decision',
    kind: 'effect_reconciled',
    world,
    phase: 'Act',
    at,
    actor: askedOf,
    idempotencyKey: `question:${subject}:${question.attempt}`,
    summary: `${askedOf} answered "${answer.answer}" about ${what}${answer.note ? `: ${answer.note}` : ''}`,
    ...(effect ? { effectId: effect.effectId } : {}),
    decision: answer.answer,
    basis,
    detail: {
      reason: question.reason,
      note: answer.note,
      ...('reference' in answer ? { reference: answer.reference } : {}),
    },
  });

  // 3. (A question about the whole plan moves no effect: Act checks the plan again on its next run.)
  // An attempt a person resent elsewhere and found not sent goes to that address again, from here:
  // Act would send it to the list's email, and may be long done.
  const resentAt =
    effect && answer.answer === 'not-sent'
      ? (await deps.questions.getQuestion(incident.id, effect.effectId, question.attempt - 1))?.answered
      : undefined;
  const resend: Extract<EffectAnswer, { answer: 'resend' }> | undefined =
    answer.answer === 'resend'
      ? answer
      : resentAt?.answer === 'resend' && resentAt.address
        ? { answer: 'resend', address: resentAt.address, note: answer.note }
        : undefined;
  if (effect && resend) {
    // Without a way to send here (asked again by Act or the SES events), the person's page finishes it.
    if (deps.resend)
      await resendNotice(deps, deps.resend, incident, effect, question, resend, decision, askedOf);
  } else if (effect)
    await settleEffect(
      { ...deps, sentNotices: deps.resend?.sentNotices },
      incident,
      effect,
      question,
      answer,
      decision,
      askedOf,
      at,
    );
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `answer:${subject}:${question.attempt}`,
    at,
    world,
    type: 'effect_settled_by_person',
    phase: 'Act',
    summary: `${askedOf} answered "${answer.answer}" about ${what}`,
    detail: { effectId: subject, decisionSeq: decision.seq },
  });
}

async function settleEffect(
  deps: Pick<AskDeps, 'ledger' | 'effects'> & {
    readonly sentNotices?: Pick<SentNotices, 'remember'> | undefined;
  },
  incident: Incident,
  effect: EffectRecord,
  question: EffectQuestion,
  answer: EffectAnswer,
  decision: LedgerEntry,
  by: string,
  at: string,
): Promise<void> {
  const from = { progress: 'attention' as const, attempt: question.attempt };
  const planVersionId = versionIdOf(incident.plan ?? { version: effect.planVersion });
  const base = {
    log: 'effect' as const,
    kind: effect.kind,
    world: effect.world,
    phase: 'Act' as const,
    at,
    actor: by,
    effectId: effect.effectId,
    counterparty: effect.counterparty,
    obligation: effect.obligation,
    ...(effect.amount ? { amount: effect.amount } : {}),
    ...(effect.productArea ? { productArea: effect.productArea } : {}),
    basis: {
      decisionSeq: decision.seq,
      ...(incident.plan ? { planVersion: incident.plan.version, planHash: incident.plan.hash } : {}),
    },
  };
  if (answer.answer === 'sent' || answer.answer === 'done-by-hand') {
    const providerRef =
      answer.answer === 'done-by-hand' ? answer.reference : (effect.providerRef ?? 'confirmed by a person');
    await deps.ledger.append(incident.id, {
      ...base,
      // A bounced notice's attempt is on the ledger confirmed already (SES took it): how the
      // customer was reached is an entry of its own.
      idempotencyKey: `effect:${effect.effectId}:${question.attempt}:${question.reason === 'bounced' ? 'reached' : 'confirmed'}`,
      summary: `${effect.kind} ${effect.effectId} for ${effect.counterparty}: confirmed by ${by}`,
      state: 'confirmed',
      providerRef,
      effectiveAt: at,
      detail: { attempt: question.attempt, byPerson: true, note: answer.note },
    });
    await deps.effects.advanceEffect(incident.id, planVersionId, effect.effectId, from, {
      progress: 'confirmed',
      providerRef,
      attention: undefined,
      updatedAt: at,
    });
    // A notice in doubt whose MessageId SES gave after all: its delivery events come back to it.
    if (answer.answer === 'sent' && effect.providerRef && question.reason === 'in-doubt')
      await deps.sentNotices?.remember({
        messageId: effect.providerRef,
        incidentId: incident.id,
        planVersionId,
        effectId: effect.effectId,
        attempt: question.attempt,
      });
    return;
  }
  if (answer.answer === 'void') {
    const intent = (await deps.ledger.read(incident.id)).find(
      (e) => e.idempotencyKey === `effect:${effect.effectId}:${question.attempt}:intent`,
    );
    await deps.ledger.append(incident.id, {
      ...base,
      kind: 'correction',
      idempotencyKey: `effect:${effect.effectId}:${question.attempt}:void`,
      summary: `${effect.kind} ${effect.effectId} for ${effect.counterparty} will not be carried out: ${answer.note}`,
      ...(intent && isCurrentEntry(intent) ? { corrects: { id: intent.id, seq: intent.seq } } : {}),
      detail: { attempt: question.attempt, voids: effect.effectId, note: answer.note },
    });
    await deps.effects.advanceEffect(incident.id, planVersionId, effect.effectId, from, {
      progress: 'voided',
      attention: undefined,
      updatedAt: at,
    });
    return;
  }
  // not-sent, retry: a new attempt, with a new key, on Act's next run.
  await deps.effects.advanceEffect(incident.id, planVersionId, effect.effectId, from, {
    progress: 'planned',
    attempt: question.attempt + 1,
    intentAt: undefined,
    providerRef: undefined,
    attention: undefined,
    updatedAt: at,
  });
}

/**
 * The notice as the approvers read it, rendered again for this customer; undefined when it no
 * longer hashes to what they approved (the wording, the customer or their address changed since).
 */
async function approvedNotice(
  deps: { readonly effects: Pick<EffectStore, 'getCustomer'> },
  incident: Incident,
  effect: EffectRecord,
): Promise<{ readonly message: ReturnType<typeof effectNotice>; readonly customer: Customer } | undefined> {
  const list = incident.customerList;
  const customer = list
    ? await deps.effects.getCustomer(incident.id, versionIdOf(list), effect.customerRef)
    : undefined;
  if (!customer?.email) return undefined;
  const message = effectNotice(incident, incident.plan?.notice, effect, customer);
  return messageHash(message) === effect.contentHash ? { message, customer } : undefined;
}

/**
 * Sends a bounced notice again, as the next attempt, to the other address a person chose: the
 * approved message with only its recipient changed. Intent first (keyed: once however often this
 * runs), then one conditional move of the effect from the bounced attempt to the new one: of a
 * double click, two racing answers or a redelivered event, only the run that makes that move sends.
 * The new attempt has delivery evidence of its own: SES's events about its MessageId come back to it.
 */
async function resendNotice(
  deps: Pick<AskDeps, 'incidents' | 'ledger' | 'effects' | 'clock'> & {
    readonly effects: Pick<EffectStore, 'getCustomer'>;
  },
  resend: ResendDeps,
  incident: Incident,
  effect: EffectRecord,
  question: EffectQuestion,
  answer: Extract<EffectAnswer, { answer: 'resend' }>,
  decision: LedgerEntry,
  by: string,
): Promise<void> {
  const approved = await approvedNotice(deps, incident, effect);
  if (!approved) return;
  const planVersionId = versionIdOf(incident.plan ?? { version: effect.planVersion });
  const next: EffectRecord = { ...effect, attempt: question.attempt + 1 };
  const record = (
    state: 'intent' | 'confirmed' | 'failed',
    extra: { providerRef?: string; reason?: string } = {},
  ) =>
    deps.ledger.append(
      incident.id,
      effectStateEntry(next, state, {
        at: deps.clock.now().toISOString(),
        actor: by,
        note: `attempt ${next.attempt}, to another address from the customer list`,
        ...(extra.providerRef
          ? { providerRef: extra.providerRef, effectiveAt: deps.clock.now().toISOString() }
          : {}),
        basis: {
          decisionSeq: decision.seq,
          ...(incident.plan ? { planVersion: incident.plan.version, planHash: incident.plan.hash } : {}),
        },
        detail: {
          resendOf: question.attempt,
          provider: 'ses',
          sentHash: effect.contentHash ?? '',
          ...(extra.reason ? { reason: extra.reason } : {}),
        },
      }),
    );
  const move = async (from: Pick<EffectRecord, 'progress' | 'attempt'>, change: Partial<EffectRecord>) =>
    deps.effects.advanceEffect(incident.id, planVersionId, effect.effectId, from, {
      ...change,
      updatedAt: deps.clock.now().toISOString(),
    });
  const attention = async (reason: AttentionReason, detail: string) => {
    const since = deps.clock.now().toISOString();
    const change = { progress: 'attention' as const, attention: { reason, detail, since } };
    if (await move({ progress: 'intent', attempt: next.attempt }, change))
      await resend.ask(incident, { ...next, ...change }, reason, detail);
  };

  /** The attempt SES took, on the ledger and the effect, and where its MessageId finds it again. */
  const confirm = async (messageId: string) => {
    await record('confirmed', { providerRef: messageId });
    await move(
      { progress: 'intent', attempt: next.attempt },
      { progress: 'confirmed', providerRef: messageId },
    );
    await resend.sentNotices.remember({
      messageId,
      incidentId: incident.id,
      planVersionId,
      effectId: effect.effectId,
      attempt: next.attempt,
    });
  };

  // Before the claim: a wait for SES's rate after it would eat into the grace another request allows it.
  await resend.rate.take();
  const intentAt = deps.clock.now().toISOString();
  await record('intent');
  const claimed = await move(
    { progress: 'attention', attempt: question.attempt },
    {
      progress: 'intent',
      attempt: next.attempt,
      intentAt,
      providerRef: undefined,
      attention: undefined,
    },
  );
  if (!claimed) return takeOver();
  const sending = resend.mailer.send({ ...approved.message, to: answer.address });
  let messageId: string;
  try {
    ({ messageId } = await answeredWithin(sending, resend.answerWithinMs ?? RESEND_ANSWER_MS));
  } catch (error) {
    if (error instanceof DeliveryRejectedError && error.busy) {
      // Throttled: SES took nothing, and the answer on record sends it when carried out again.
      await move(
        { progress: 'intent', attempt: next.attempt },
        {
          progress: 'attention',
          attempt: question.attempt,
          intentAt: effect.intentAt,
          providerRef: effect.providerRef,
          attention: effect.attention,
        },
      );
      throw retryLater(error);
    }
    if (error instanceof DeliveryRejectedError) {
      await record('failed', { reason: error.message });
      return attention('bounced', refusedDetail(error.message));
    }
    const asked = attention(
      'in-doubt',
      `Sending to the other address ended without an answer (${(error as Error).message}); SES may have taken the message.`,
    );
    if (error instanceof UnansweredError) {
      // SES may still answer: its MessageId is kept on the effect in doubt, for the person who answers "sent".
      void sending
        .then(async ({ messageId: late }) => {
          await asked.catch(() => undefined);
          await move({ progress: 'attention', attempt: next.attempt }, { providerRef: late });
        })
        .catch(() => undefined);
    }
    return asked;
  }
  await confirm(messageId);

  /**
   * The attempt was claimed already: by a request still sending it (within the grace, left alone),
   * or by one that died or failed part-way. That one's attempt ends where a person sees it: what it
   * left on the ledger is finished, and an attempt SES may or may not have taken is asked about as
   * in doubt at once; a question about it that was never e-mailed is e-mailed.
   */
  async function takeOver(): Promise<void> {
    const current = await deps.effects.getEffect(incident.id, planVersionId, effect.effectId);
    if (current?.attempt !== next.attempt) return;
    if (current.progress === 'attention' && current.attention) {
      await resend.ask(incident, current, current.attention.reason, current.attention.detail);
      return;
    }
    if (current.progress !== 'intent' || !resendStalled(current, deps.clock.now())) return;
    const left = new Map((await deps.ledger.read(incident.id)).map((e) => [e.idempotencyKey, e]));
    const key = (state: string) => `effect:${effect.effectId}:${next.attempt}:${state}`;
    const confirmed = left.get(key('confirmed'));
    if (confirmed && 'providerRef' in confirmed && confirmed.providerRef)
      return confirm(confirmed.providerRef);
    const failed = left.get(key('failed'));
    if (failed) return attention('bounced', refusedDetail(String(failed.detail.reason ?? 'no reason kept')));
    return attention(
      'in-doubt',
      `The request sending it to the other address ended before SES answered (its intent was recorded at ${current.intentAt ?? '?'}); SES may have taken the message.`,
    );
  }
}

const refusedDetail = (why: string) =>
  `SES refused the notice to the other address chosen (${why}): the customer was not told.`;

/** A resend claimed longer ago than any request can still be sending it. */
function resendStalled(effect: EffectRecord, now: Date): boolean {
  const since = Date.parse(effect.intentAt ?? effect.updatedAt ?? '');
  return Number.isNaN(since) || now.getTime() - since >= RESEND_GRACE_MS;
}

/** SES gave no answer in the time a resend waits for one. */
class UnansweredError extends Error {}

function answeredWithin<T>(sending: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnansweredError(`SES gave no answer within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([sending, bound]).finally(() => clearTimeout(timer));
}
