/**
 * Use case: what SES says became of a notice after it took it goes on the Effect Ledger against
 * that notice, so the record says which customers were told, not only which messages SES accepted.
 *
 * Primary course (one event):
 *  1. Find the notice by the event's MessageId (written when Act recorded it confirmed). An event
 *     that overtook that write is tried again later; one about no notice at all is not recorded.
 *  2. Append a `notice_event` entry against the notice's effect, once per event (SNS and SQS may
 *     deliver one twice): the outcome, what SES said, the customer's pseudonym — never the address.
 *  3. A permanent bounce or a reject means the customer was not told: the effect waits for a
 *     person again and the responders are asked through the effects' questions (reach the customer
 *     another way and record how, or void it). A closed incident stays closed: the question is
 *     asked all the same. A complaint or a bounce goes on the timeline.
 */
import type { EffectRecord } from '../domain/effects.ts';
import type { Incident } from '../domain/incident.ts';
import type { NoticeEvent, SentNotice, SentNotices } from '../domain/notice-events.ts';
import type { AskAboutEffect, Clock, EffectStore, IncidentStore, Ledger } from '../domain/ports.ts';

export interface RecordNoticeEventsDeps {
  readonly sentNotices: Pick<SentNotices, 'find'>;
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly effects: Pick<EffectStore, 'getEffect' | 'advanceEffect'>;
  readonly ledger: Pick<Ledger, 'append'>;
  /** Asks the responders about an effect (the effects' question path); asking again changes nothing. */
  readonly ask: AskAboutEffect;
  readonly clock: Clock;
}

/** What recording one event came to. */
export type NoticeEventResult =
  /** `not-yet`: no notice is known by its MessageId yet, and it is recent enough that one may be. */
  | { readonly recorded: false; readonly why: 'not-a-notice' | 'not-yet' }
  | {
      readonly recorded: true;
      readonly incidentId: string;
      readonly effectId: string;
      readonly outcome: NoticeEvent['outcome'];
      /** Whether a person was asked about it (a permanent bounce or a reject). */
      readonly asked: boolean;
    };

/**
 * How long an event about a message no notice is known by is handed back to be tried again: far
 * longer than Act takes from SES's answer to writing the index.
 */
export const NOT_YET_MS = 15 * 60 * 1000;

export async function recordNoticeEvent(
  deps: RecordNoticeEventsDeps,
  event: NoticeEvent,
): Promise<NoticeEventResult> {
  // 1.
  const sent = await deps.sentNotices.find(event.messageId);
  if (!sent) {
    // Act writes where to find a notice just after SES answered: an event may overtake it.
    const age = deps.clock.now().getTime() - Date.parse(event.at);
    return { recorded: false, why: age < NOT_YET_MS ? 'not-yet' : 'not-a-notice' };
  }
  const incident = await deps.incidents.getIncident(sent.incidentId);
  const effect = await deps.effects.getEffect(sent.incidentId, sent.planVersionId, sent.effectId);
  if (!incident || !effect) {
    // The index is written only after both exist, and neither is ever deleted.
    throw new Error(`${event.messageId} names ${sent.incidentId} ${sent.effectId}, which are not there`);
  }

  // 2.
  const said = Object.entries(event.detail)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  await deps.ledger.append(incident.id, {
    log: 'effect',
    kind: 'notice_event',
    world: effect.world,
    phase: 'Act',
    at: deps.clock.now().toISOString(),
    actor: 'casebook (SES events)',
    idempotencyKey: `notice-event:${event.messageId}:${event.eventKey}`.slice(0, 400),
    summary:
      `${effect.kind} ${effect.effectId} for ${effect.counterparty}: ${event.outcome}${said ? ` (${said})` : ''}`.slice(
        0,
        2000,
      ),
    effectId: effect.effectId,
    counterparty: effect.counterparty,
    providerRef: event.messageId,
    effectiveAt: event.at,
    detail: { outcome: event.outcome, sesEventType: event.type, attempt: sent.attempt, ...event.detail },
  });

  // 3.
  const asked = event.undeliverable ? await askAboutUndelivered(deps, incident, effect, sent, event) : false;
  if (event.outcome === 'bounced' || event.outcome === 'complained' || event.outcome === 'rejected') {
    await deps.incidents.addTimelineEvent(incident.id, {
      key: `notice-event:${event.messageId}:${event.eventKey}`,
      at: event.at,
      world: effect.world,
      type: 'notice_event',
      phase: 'Act',
      summary:
        `${effect.kind} ${effect.effectId} for ${effect.counterparty}: ${event.outcome}${said ? ` (${said})` : ''}`.slice(
          0,
          2000,
        ),
      detail: { effectId: effect.effectId, outcome: event.outcome, attempt: sent.attempt },
    });
  }
  return {
    recorded: true,
    incidentId: incident.id,
    effectId: effect.effectId,
    outcome: event.outcome,
    asked,
  };
}

/**
 * The attempt SES bounced waits for a person: moved from confirmed to attention (once; a
 * redelivered event finds it there) and asked about. A later attempt has superseded it: no question.
 */
async function askAboutUndelivered(
  deps: RecordNoticeEventsDeps,
  incident: Incident,
  effect: EffectRecord,
  sent: SentNotice,
  event: NoticeEvent,
): Promise<boolean> {
  const { attempt, planVersionId } = sent;
  if (effect.attempt !== attempt) return false;
  const detail =
    event.outcome === 'rejected'
      ? `SES rejected the notice after taking it (${event.detail.reason ?? 'no reason given'}): the customer was not told.`
      : `The customer's address bounced the notice (${event.detail.bounceType ?? 'Permanent'}, ${event.detail.bounceSubType ?? 'General'}${event.detail.diagnostic ? `: ${event.detail.diagnostic}` : ''}): the customer was not told.`;
  let now: EffectRecord = effect;
  if (effect.progress === 'confirmed') {
    const since = deps.clock.now().toISOString();
    const change = {
      progress: 'attention' as const,
      attention: { reason: 'bounced' as const, detail, since },
    };
    const moved = await deps.effects.advanceEffect(incident.id, planVersionId, effect.effectId, effect, {
      ...change,
      updatedAt: since,
    });
    if (!moved) {
      const again = await deps.effects.getEffect(incident.id, planVersionId, effect.effectId);
      if (again?.progress !== 'attention' || again.attempt !== attempt) return false;
      now = again;
    } else now = { ...effect, ...change, updatedAt: since };
  } else if (effect.progress !== 'attention' || effect.attention?.reason !== 'bounced') return false;
  await deps.ask(incident, now, 'bounced', now.attention?.detail ?? detail);
  return true;
}
