/**
 * Use cases: asking people about an effect Act could not settle by itself — a notice that may or
 * may not have gone out, a payment the provider refused, a refund to be done by hand — and
 * recording their answer.
 *
 * Primary course (ask):
 *  1. Write the question once per effect and attempt, with a link of their own for each responder
 *     (a random secret; only its hash is stored).
 *  2. E-mail each responder their link and put the question on the timeline. Asking again before
 *     the e-mails went out sends them (with fresh links); after, it changes nothing.
 *
 * Primary course (answer):
 *  1. Check the link and the answer.
 *  2. Record the answer on the question (only one racing answer can; a different answer than the
 *     one on record is a conflict, the same one again finishes what was left undone), then on the Decision Log:
 *     who, what, and on what basis (their note, the reference they give).
 *  3. Move the effect: confirmed (sent, done by hand — an Effect Ledger entry says who and with what
 *     reference), a new attempt (not sent, retry), or voided (a correction entry names the intent).
 *  4. When no question of the incident is open any more, end the wait of Act in the state machine.
 */
import { randomBytes } from 'node:crypto';
import type { EffectAnswer, EffectQuestion, EffectRecord } from '../domain/effects.ts';
import { ATTENTION_ANSWERS, formatQuestionId, parseQuestionId } from '../domain/effects.ts';
import { ConflictError, GoneError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { sha256Hex } from '../domain/json.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { customerNotice, effectQuestionEmail } from '../domain/messages.ts';
import type {
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  Mailer,
  QuestionStore,
  SentMailLog,
  WaitStore,
  Workflow,
} from '../domain/ports.ts';
import { endWait } from './hold-for-people.ts';

export interface AskDeps {
  readonly questions: QuestionStore;
  readonly incidents: Pick<IncidentStore, 'addTimelineEvent'>;
  readonly mailer: Mailer;
  readonly responders: readonly string[];
  readonly publicBaseUrl: string;
  readonly clock: Clock;
}

export async function askAboutEffect(
  deps: AskDeps,
  incident: Incident,
  effect: EffectRecord,
  reason: EffectQuestion['reason'],
  detail: string,
): Promise<void> {
  // 1.
  const existing = await deps.questions.getQuestion(incident.id, effect.effectId, effect.attempt);
  if (existing?.emailedAt) return;
  const secrets = deps.responders.map((to) => ({ to, secret: randomBytes(32).toString('base64url') }));
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
  else if (!(await deps.questions.createQuestion(question))) return;

  // 2.
  for (const { to, secret } of secrets) {
    const id = formatQuestionId({
      incidentId: incident.id,
      effectId: effect.effectId,
      attempt: effect.attempt,
      secret,
    });
    await deps.mailer.send(
      effectQuestionEmail(incident, effect, reason, detail, to, `${deps.publicBaseUrl}/effects/${id}`),
    );
  }
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
}

/** What the question page shows. */
export interface QuestionView {
  readonly question: EffectQuestion;
  readonly incident: Incident;
  readonly effect: EffectRecord;
  /** The responder the link was sent to. */
  readonly askedOf: string;
  /** The customer's address, for checking whether a notice went out (operational store only). */
  readonly customerEmail?: string;
  /**
   * For a notice in doubt, what the mail service's log says about it: the messages it took to
   * this customer with this notice's subject; undefined where the log cannot be read.
   */
  readonly mailLog?: readonly { readonly messageId: string; readonly at: string }[];
  readonly answers: readonly EffectAnswer['answer'][];
  /** When the view was read, by the deps' clock: the page says how long ago things were from it. */
  readonly now: Date;
}

async function authorize(
  deps: Pick<AnswerDeps, 'questions' | 'incidents' | 'effects' | 'sentMail' | 'clock'>,
  questionId: string,
): Promise<QuestionView> {
  const ref = parseQuestionId(questionId);
  const question = ref
    ? await deps.questions.getQuestion(ref.incidentId, ref.effectId, ref.attempt)
    : undefined;
  const askedOf = ref && question ? question.links[sha256Hex(ref.secret)] : undefined;
  const [incident, effect] =
    ref && askedOf
      ? await Promise.all([
          deps.incidents.getIncident(ref.incidentId),
          deps.effects.getEffect(ref.incidentId, ref.effectId),
        ])
      : [];
  // One answer for malformed, unknown and forged links: the page reveals nothing either way.
  if (!question || !askedOf || !incident || !effect) throw new NotFoundError('No such question');
  // A question's links end with its incident: once it is closed or cancelled nothing more is recorded on it.
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') {
    throw new GoneError(
      `${incident.id} is ${incident.status === 'CLOSED' ? 'closed' : 'cancelled'}; this question's link no longer works`,
    );
  }
  const customer = await deps.effects.getCustomer(
    incident.id,
    incident.customerList?.version ?? 0,
    effect.customerRef,
  );
  const mailLog =
    question.reason === 'in-doubt' && customer?.email && deps.sentMail
      ? await deps.sentMail.find(
          customer.email,
          customerNotice(incident, effect.template ?? 'apology', customer, effect.amount).subject,
        )
      : undefined;
  return {
    question,
    incident,
    effect,
    askedOf,
    ...(customer?.email ? { customerEmail: customer.email } : {}),
    ...(mailLog ? { mailLog } : {}),
    answers: ATTENTION_ANSWERS[question.reason],
    now: deps.clock.now(),
  };
}

/** Loads what the question page shows. Reads only. */
export function viewQuestion(deps: AnswerDeps, questionId: string): Promise<QuestionView> {
  return authorize(deps, questionId);
}

/** Validates a posted answer: which answers the question allows, a reference where one is needed. */
export function parseAnswer(
  fields: Readonly<Record<string, string>>,
  allowed: readonly EffectAnswer['answer'][],
): EffectAnswer {
  const answer = fields.answer as EffectAnswer['answer'];
  const note = (fields.note ?? '').trim();
  const reference = (fields.reference ?? '').trim();
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
  if (note.length > 2000) issues.push({ field: 'note', message: 'must be at most 2000 characters' });
  if (issues.length > 0) throw new InvalidInputError(issues);
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
  const answer = parseAnswer(fields, view.answers);

  // 2.
  let answered: NonNullable<EffectQuestion['answered']> = {
    answer: answer.answer,
    by: askedOf,
    at: deps.clock.now().toISOString(),
    note: answer.note,
    ...('reference' in answer ? { reference: answer.reference } : {}),
  };
  const recorded =
    !question.answered &&
    (await deps.questions.answerQuestion(incident.id, effect.effectId, question.attempt, answered));
  if (!recorded) {
    // The same answer from the same person again finishes what a request that failed part-way
    // left undone; anything else is a conflict with the answer on record.
    const earlier =
      question.answered ??
      (await deps.questions.getQuestion(incident.id, effect.effectId, question.attempt))?.answered;
    if (!earlier || earlier.answer !== answer.answer || earlier.by !== askedOf) {
      throw new ConflictError(`Already answered "${earlier?.answer}" by ${earlier?.by} at ${earlier?.at}`);
    }
    answered = earlier;
  }
  const { at } = answered;
  const plan = incident.plan;
  const basis = {
    ...(plan ? { planVersion: plan.version, planHash: plan.hash } : {}),
    policy: `question ${effect.effectId} attempt ${question.attempt} (${question.reason})`,
  };
  const { entry: decision } = await deps.ledger.append(incident.id, {
    log: 'decision',
    kind: 'effect_reconciled',
    world: effect.world,
    phase: 'Act',
    at,
    actor: askedOf,
    idempotencyKey: `question:${effect.effectId}:${question.attempt}`,
    summary: `${askedOf} answered "${answer.answer}" about ${effect.kind} ${effect.effectId}${answer.note ? `: ${answer.note}` : ''}`,
    effectId: effect.effectId,
    decision: answer.answer,
    basis,
    detail: {
      reason: question.reason,
      note: answer.note,
      ...('reference' in answer ? { reference: answer.reference } : {}),
    },
  });

  // 3.
  await settleEffect(deps, incident, effect, question, answer, decision, askedOf, at);
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `answer:${effect.effectId}:${question.attempt}`,
    at,
    world: effect.world,
    type: 'effect_settled_by_person',
    phase: 'Act',
    summary: `${askedOf} answered "${answer.answer}" about ${effect.kind} ${effect.effectId}`,
    detail: { effectId: effect.effectId, decisionSeq: decision.seq },
  });

  // 4.
  const resumedWorkflow =
    (await deps.questions.openQuestions(incident.id)).length === 0 &&
    (await endWait(deps, incident.id, 'act', { result: { settledBy: askedOf, at } }));
  return { view: { ...view, question: { ...question, answered } }, resumedWorkflow };
}

async function settleEffect(
  deps: AnswerDeps,
  incident: Incident,
  effect: EffectRecord,
  question: EffectQuestion,
  answer: EffectAnswer,
  decision: LedgerEntry,
  by: string,
  at: string,
): Promise<void> {
  const from = { progress: 'attention' as const, attempt: question.attempt };
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
      idempotencyKey: `effect:${effect.effectId}:${question.attempt}:confirmed`,
      summary: `${effect.kind} ${effect.effectId} for ${effect.counterparty}: confirmed by ${by}`,
      state: 'confirmed',
      providerRef,
      effectiveAt: at,
      detail: { attempt: question.attempt, byPerson: true, note: answer.note },
    });
    await deps.effects.advanceEffect(incident.id, effect.effectId, from, {
      progress: 'confirmed',
      providerRef,
      attention: undefined,
      updatedAt: at,
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
      ...(intent && intent.format === 2 ? { corrects: { id: intent.id, seq: intent.seq } } : {}),
      detail: { attempt: question.attempt, voids: effect.effectId, note: answer.note },
    });
    await deps.effects.advanceEffect(incident.id, effect.effectId, from, {
      progress: 'voided',
      attention: undefined,
      updatedAt: at,
    });
    return;
  }
  // not-sent, retry: a new attempt, with a new key, on Act's next run.
  await deps.effects.advanceEffect(incident.id, effect.effectId, from, {
    progress: 'planned',
    attempt: question.attempt + 1,
    intentAt: undefined,
    providerRef: undefined,
    attention: undefined,
    updatedAt: at,
  });
}
