/**
 * Use case: an alert arrives; open an incident for it, or fold it into the one it belongs to.
 *
 * Primary course:
 *  1. Triage the alert (world, categories, severity).
 *  2. If its correlation key points at an open incident — or at a closed one that already holds
 *     every occurrence this notification reports (a repeat or a redelivery) — fold it in.
 *  3. Otherwise number a new incident and claim the correlation key for it (a concurrent
 *     delivery that loses the claim folds into the winner's incident instead).
 *  4. Write the incident, its detection event and the Detect entry of the Effect Ledger.
 *  5. Start the lifecycle execution named after the incident.
 *
 * Every step is idempotent, so a redelivery after a partial failure completes what is missing
 * and duplicates nothing.
 */
import type { Classification, NormalizedAlert } from '../domain/alert.ts';
import { classify } from '../domain/alert.ts';
import type { Incident } from '../domain/incident.ts';
import { formatIncidentId, isOpen, openIncident as newIncident } from '../domain/incident.ts';
import type { Clock, IncidentStore, Ledger, Workflow } from '../domain/ports.ts';

export interface OpenIncidentDeps {
  readonly incidents: IncidentStore;
  readonly ledger: Ledger;
  readonly workflow: Workflow;
  readonly clock: Clock;
}

export type OpenIncidentResult =
  | { readonly outcome: 'opened'; readonly incidentId: string; readonly classification: Classification }
  | { readonly outcome: 'folded'; readonly incidentId: string; readonly classification: Classification }
  | { readonly outcome: 'not-an-incident'; readonly classification: Classification }
  | { readonly outcome: 'nothing-open'; readonly classification: Classification };

export async function openIncident(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
): Promise<OpenIncidentResult> {
  const now = deps.clock.now();
  const at = now.toISOString();
  // 1.
  const classification = classify(alert.labels);

  // 2.
  const correlation = await deps.incidents.findCorrelation(alert.correlationKey);
  const heldBy = correlation?.incidentId;
  const holder = heldBy ? await deps.incidents.getIncident(heldBy) : undefined;
  const known =
    alert.occurrences.length > 0 && alert.occurrences.every((o) => correlation?.occurrences.includes(o));
  if (holder && (isOpen(holder) || known)) {
    await fold(deps, holder, alert, at);
    return { outcome: 'folded', incidentId: holder.id, classification };
  }

  let incidentId: string;
  if (heldBy && !holder) {
    // An earlier delivery claimed the key but stopped before writing the incident: finish its work.
    incidentId = heldBy;
  } else {
    if (!classification.isIncident) return { outcome: 'not-an-incident', classification };
    if (alert.status === 'resolved') return { outcome: 'nothing-open', classification };
    // 3.
    const year = now.getUTCFullYear();
    const candidate = formatIncidentId(year, await deps.incidents.nextIncidentNumber(year));
    const claim = await deps.incidents.claimCorrelation(
      alert.correlationKey,
      candidate,
      heldBy,
      alert.occurrences,
    );
    if (!claim.claimed) {
      const winner = await deps.incidents.getIncident(claim.incidentId);
      if (winner) {
        await fold(deps, winner, alert, at);
        return { outcome: 'folded', incidentId: winner.id, classification };
      }
      incidentId = claim.incidentId;
    } else {
      incidentId = candidate;
    }
  }

  // 4.
  const incident = newIncident(incidentId, alert, classification, at);
  await deps.incidents.createIncident(incident);
  const stored = (await deps.incidents.getIncident(incidentId)) ?? incident;
  await recordDetection(deps, stored, alert, classification);
  // 5.
  await deps.workflow.start(stored.executionName, { incidentId });
  return { outcome: 'opened', incidentId, classification };
}

async function recordDetection(
  deps: OpenIncidentDeps,
  incident: Incident,
  alert: NormalizedAlert,
  classification: Classification,
): Promise<void> {
  await deps.incidents.addTimelineEvent(incident.id, {
    key: 'detection',
    at: incident.detectedAt,
    world: 'RML2',
    type: 'detection',
    phase: 'Detect',
    summary: `Opened from ${alert.source}: ${alert.title}. ${classification.reason}`,
    detail: { source: alert.source, deliveryKey: alert.deliveryKey, alertCount: alert.alerts.length },
  });
  await deps.ledger.append(incident.id, {
    log: 'effect',
    kind: 'detection',
    world: classification.world,
    phase: 'Detect',
    at: incident.detectedAt,
    actor: `${alert.source} webhook`,
    idempotencyKey: 'detect',
    summary: `Provisional record: ${classification.world} incident detected (${classification.severity}) — ${alert.title}`,
    detail: {
      source: alert.source,
      correlationKey: alert.correlationKey,
      deliveryKey: alert.deliveryKey,
      status: alert.status,
      startedAt: alert.startedAt,
      severity: classification.severity,
      categories: [...classification.categories],
      classification: classification.reason,
      fingerprints: alert.alerts.map((a) => a.fingerprint),
      labels: { ...alert.labels },
      ...(alert.externalUrl ? { externalUrl: alert.externalUrl } : {}),
    },
  });
}

async function fold(
  deps: OpenIncidentDeps,
  incident: Incident,
  alert: NormalizedAlert,
  at: string,
): Promise<void> {
  await deps.incidents.addOccurrences(alert.correlationKey, alert.occurrences);
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `alert:${alert.deliveryKey}`,
    at,
    world: 'RML2',
    type: 'alert_folded',
    phase: incident.phase,
    summary: `${alert.source} ${alert.status === 'resolved' ? 'reports the alert resolved' : 'sent the alert again'} (${alert.alerts.length} alert${alert.alerts.length === 1 ? '' : 's'}); folded into ${incident.id}`,
    detail: { deliveryKey: alert.deliveryKey, status: alert.status, alertCount: alert.alerts.length },
  });
  // A redelivery after a failed first attempt still gets its detection recorded and its lifecycle
  // started; a closed incident's lifecycle is over and stays over.
  await recordDetection(deps, incident, alert, classify(alert.labels));
  if (isOpen(incident)) await deps.workflow.start(incident.executionName, { incidentId: incident.id });
}
