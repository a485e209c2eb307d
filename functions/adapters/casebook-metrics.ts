/**
 * The facts the dashboard and alarms read, each published where a handler or adapter learns it;
 * the domain and use cases stay free of metrics.
 */
import type { Approval } from '../domain/approval.ts';
import type { EffectQuestion } from '../domain/effects.ts';
import type { Incident } from '../domain/incident.ts';
import type { Clock } from '../domain/ports.ts';
import type { AnchorResult } from '../use-cases/anchor-ledger.ts';
import type { OpenIncidentResult } from '../use-cases/open-incident.ts';
import { correlate, countMetric, METRIC, recordMetric } from './observability.ts';

/** An alert or declaration opened an incident (by source, world, severity) or folded into one (by source). */
export function countIncidentOutcome(source: string, result: OpenIncidentResult): void {
  if (!('incidentId' in result)) return;
  correlate(result.incidentId);
  if (result.outcome === 'opened') {
    const { world, severity } = result.classification;
    countMetric(METRIC.incidentsOpened, { source, world, severity });
  } else {
    countMetric(METRIC.signalsFolded, { source });
  }
}

/**
 * Time to acknowledge, once: when `incident` (as a person's action left it) was acknowledged at or
 * after `since`, the moment that action began, this action was the acknowledgement.
 */
export function recordAcknowledgement(
  incident: Pick<Incident, 'id' | 'severity' | 'detectedAt' | 'acknowledgedAt'>,
  since: Date,
): void {
  correlate(incident.id);
  if (!incident.acknowledgedAt) return;
  const acknowledged = Date.parse(incident.acknowledgedAt);
  if (!(acknowledged >= since.getTime())) return;
  const seconds = (acknowledged - Date.parse(incident.detectedAt)) / 1000;
  recordMetric(METRIC.timeToAcknowledge, 'Seconds', seconds);
  recordMetric(METRIC.timeToAcknowledge, 'Seconds', seconds, { severity: incident.severity });
}

/** How long an approver took, from the round asking their role to their decision. */
export function recordApprovalDecision(approval: Approval): void {
  correlate(approval.incidentId);
  if (!approval.decision) return;
  const seconds = (Date.parse(approval.decision.at) - Date.parse(approval.requestedAt)) / 1000;
  recordMetric(METRIC.approvalLatency, 'Seconds', seconds, { role: approval.role });
}

/** One run of Act, however it ended. */
export function recordActRun(milliseconds: number): void {
  recordMetric(METRIC.actDuration, 'Milliseconds', milliseconds);
}

/** An anchor run that ended well, and how old the anchor holding the current heads is now. */
export function recordAnchorRun(result: AnchorResult, now: Date): void {
  countMetric(METRIC.anchorRuns);
  if (result.anchoredAt) {
    recordMetric(METRIC.anchorAge, 'Seconds', (now.getTime() - Date.parse(result.anchoredAt)) / 1000);
  }
}

/** An effect moved to `state`: by kind and state; a notice SES accepted also counts as sent. */
export function countEffect(kind: string, state: string): void {
  countMetric(METRIC.effects, { kind, state });
  if (kind === 'notice' && state === 'confirmed') countMetric(METRIC.noticesSent);
}

/** The SES event types a customer notice can come back with. */
export type NoticeEventType = 'Delivery' | 'Bounce' | 'Complaint' | 'Reject' | 'DeliveryDelay';

/** An SES event about a customer notice; the bounce and complaint rates are read from these. */
export function countNoticeEvent(type: NoticeEventType): void {
  if (type === 'Delivery') countMetric(METRIC.noticesDelivered);
  else if (type === 'Bounce') countMetric(METRIC.noticesBounced);
  else if (type === 'Complaint') countMetric(METRIC.noticesComplained);
}

/**
 * `store` whose reads of an incident's open questions also publish how many there are and how many
 * have waited past the answers' deadline (`answersMinutes` after each was asked).
 */
export function countingOpenQuestions<
  S extends { openQuestions(incidentId: string): Promise<EffectQuestion[]> },
>(store: S, answersMinutes: number, clock: Clock): S {
  const openQuestions = async (incidentId: string): Promise<EffectQuestion[]> => {
    const open = await store.openQuestions(incidentId);
    const due = clock.now().getTime() - answersMinutes * 60_000;
    recordMetric(METRIC.questionsOpen, 'Count', open.length);
    recordMetric(METRIC.questionsOverdue, 'Count', open.filter((q) => Date.parse(q.askedAt) < due).length);
    return open;
  };
  return new Proxy(store, {
    get: (target, name, receiver) =>
      name === 'openQuestions' ? openQuestions : Reflect.get(target, name, receiver),
  });
}
