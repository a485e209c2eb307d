/**
 * Use case: an alert arrives — from a source's webhook, or declared by a person from a customer
 * complaint — open an incident for it, or fold it into the one it belongs to.
 *
 * Primary course:
 *  1. Triage the alert by the classification policy (world, categories, severity, the deciding rule).
 *  2. If its correlation key points at this alert group's incident and that incident is open —
 *     or closed but already holding every occurrence this notification reports (a repeat or a
 *     redelivery) — fold it in.
 *  3. If a value of the alert had to be cut to its bound, keep the whole payload in the archive.
 *  4. Claim the correlation key for the next incident number (read, not reserved). A concurrent
 *     delivery of the same group that claimed first wins: look again, and fold into its incident.
 *  5. Write the incident under that number. If another alert group's incident took the number
 *     meanwhile, give the key back and claim the next one.
 *  6. Record the number as taken; write the detection event and the Detect entry of the Effect
 *     Ledger.
 *  7. Start the lifecycle execution named after the incident.
 *
 * The alert was checked and bounded before step 1, so nothing after the first write can fail
 * for a reason a retry cannot fix. A number is taken only by writing its incident, and a claim
 * whose incident could not be written is given back, so a failure leaves no key pointing at a
 * missing incident and no number used up (should even giving it back fail, the redelivery
 * finishes the open under that claim's number). Every step is idempotent, so a redelivery after a
 * partial failure completes what is missing and duplicates nothing.
 */
import type { Classification, NormalizedAlert } from '../domain/alert.ts';
import { classifyAlert } from '../domain/alert.ts';
import type { AlertPolicy } from '../domain/alert-policy.ts';
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import {
  formatIncidentId,
  isOpen,
  openIncident as newIncident,
  parseIncidentId,
} from '../domain/incident.ts';
import type { JsonObject } from '../domain/json.ts';
import { LIMITS } from '../domain/limits.ts';
import type {
  ArchivedPayload,
  Clock,
  IncidentStore,
  Ledger,
  PayloadArchive,
  Workflow,
} from '../domain/ports.ts';

export interface OpenIncidentDeps {
  readonly incidents: IncidentStore;
  readonly ledger: Ledger;
  readonly workflow: Workflow;
  /** Where a payload with cut values is kept; callers whose input is never cut (a declaration) have none. */
  readonly payloads?: PayloadArchive;
  readonly clock: Clock;
  /** How alerts are triaged; without one, the default policy (triage as it has always been). */
  readonly alertPolicy?: AlertPolicy;
}

export type OpenIncidentResult =
  | { readonly outcome: 'opened'; readonly incidentId: string; readonly classification: Classification }
  | { readonly outcome: 'folded'; readonly incidentId: string; readonly classification: Classification }
  | { readonly outcome: 'not-an-incident'; readonly classification: Classification }
  | { readonly outcome: 'nothing-open'; readonly classification: Classification };

/**
 * Claims lost to concurrent deliveries before giving up with a retryable error: each lost claim
 * moves past a number another delivery took, so N alert groups opening at once need up to N tries.
 */
const MAX_ATTEMPTS = 50;

/**
 * Opens or folds `alert`. `original` is the payload as it arrived, kept in the archive when one
 * of its values was cut.
 */
export async function openIncident(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  original?: string,
): Promise<OpenIncidentResult> {
  const now = deps.clock.now();
  const at = now.toISOString();
  // 1.
  const classification = classifyAlert(alert, deps.alertPolicy);
  let correlation = await deps.incidents.findCorrelation(alert.correlationKey);
  let archived: ArchivedPayload | undefined;
  // Numbers seen taken by other alert groups' incidents while trying.
  let taken = 0;

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // 2.
    const holder = correlation ? await deps.incidents.getIncident(correlation.incidentId) : undefined;
    const ours = holder?.correlationKey === alert.correlationKey ? holder : undefined;
    const known =
      alert.occurrences.length > 0 && alert.occurrences.every((o) => correlation?.occurrences.includes(o));
    if (ours && (isOpen(ours) || known)) {
      await fold(deps, ours, alert, at, correlation?.occurrences ?? []);
      return { outcome: 'folded', incidentId: ours.id, classification };
    }
    // A delivery claimed the key but its incident is not written (yet): finish under its number.
    const unfinished = correlation && !holder ? correlation.incidentId : undefined;
    if (!unfinished) {
      if (!classification.isIncident) return { outcome: 'not-an-incident', classification };
      if (alert.status === 'resolved') return { outcome: 'nothing-open', classification };
    }

    // 3.
    if (!archived && deps.payloads && original !== undefined && (alert.truncated?.length ?? 0) > 0) {
      archived = await deps.payloads.keep(alert.source, original);
    }

    // 4.
    let incidentId = unfinished;
    if (!incidentId) {
      taken = Math.max(taken, await deps.incidents.lastIncidentNumber(now.getUTCFullYear()));
      incidentId = formatIncidentId(now.getUTCFullYear(), taken + 1);
      const claim = await deps.incidents.claimCorrelation(
        alert.correlationKey,
        incidentId,
        correlation?.incidentId,
        alert.occurrences,
      );
      if (!claim.claimed) {
        correlation = await deps.incidents.findCorrelation(alert.correlationKey);
        continue;
      }
    }
    const claimedNow = !unfinished;

    // 5.
    let stored: Incident | undefined;
    try {
      await deps.incidents.createIncident(newIncident(incidentId, alert, classification, at, archived));
      stored = await deps.incidents.getIncident(incidentId);
    } catch (error) {
      if (claimedNow) {
        await deps.incidents
          .releaseCorrelation(alert.correlationKey, incidentId, correlation)
          .catch(() => {});
      }
      throw error;
    }
    const number = parseIncidentId(incidentId);
    if (!stored || stored.correlationKey !== alert.correlationKey || !number) {
      // Another alert group's incident holds this number: give the key back, try the next one.
      if (claimedNow) await deps.incidents.releaseCorrelation(alert.correlationKey, incidentId, correlation);
      if (number?.year === now.getUTCFullYear()) taken = Math.max(taken, number.sequence);
      correlation = await deps.incidents.findCorrelation(alert.correlationKey);
      continue;
    }

    // 6.
    await deps.incidents.recordIncidentNumber(number.year, number.sequence);
    await recordDetection(deps, stored, alert, classification);
    // 7.
    await deps.workflow.start(stored.executionName, { incidentId });
    return { outcome: 'opened', incidentId, classification };
  }
  throw new CasebookError(
    ERROR_NAMES.dependencyUnavailable,
    `No incident number for ${alert.correlationKey} after ${MAX_ATTEMPTS} attempts: concurrent deliveries kept taking them`,
  );
}

/** Who reported it, for the timeline and the ledger: the person who declared it, or the source. */
function reportedBy(alert: NormalizedAlert): { readonly actor: string; readonly detail: JsonObject } {
  const by = alert.declaredBy;
  if (!by) return { actor: `${alert.source} webhook`, detail: {} };
  return {
    actor: by.reporter,
    detail: {
      reporter: by.reporter,
      csTicketId: by.csTicketId,
      ...(by.principal ? { principal: by.principal } : {}),
    },
  };
}

async function recordDetection(
  deps: OpenIncidentDeps,
  incident: Incident,
  alert: NormalizedAlert,
  classification: Classification,
): Promise<void> {
  const { actor, detail } = reportedBy(alert);
  const by = alert.declaredBy;
  await deps.incidents.addTimelineEvent(incident.id, {
    key: 'detection',
    at: incident.detectedAt,
    world: 'RML2',
    type: 'detection',
    phase: 'Detect',
    summary: by
      ? `Declared by ${by.reporter} from CS ticket ${by.csTicketId}: ${alert.title}. ${classification.reason}`
      : `Opened from ${alert.source}: ${alert.title}. ${classification.reason}`,
    detail: {
      source: alert.source,
      deliveryKey: alert.deliveryKey,
      alertCount: alert.alerts.length,
      ...classificationDetail(classification),
      ...detail,
    },
  });
  await deps.ledger.append(incident.id, {
    log: 'effect',
    kind: 'detection',
    world: classification.world,
    phase: 'Detect',
    at: incident.detectedAt,
    actor,
    idempotencyKey: 'detect',
    summary: `Provisional record: ${classification.world} incident detected (${classification.severity}) — ${alert.title}`,
    detail: {
      source: alert.source,
      ...detail,
      correlationKey: alert.correlationKey,
      deliveryKey: alert.deliveryKey,
      status: alert.status,
      startedAt: alert.startedAt,
      severity: classification.severity,
      categories: [...classification.categories],
      classification: classification.reason,
      alertCount: alert.alerts.length,
      fingerprints: alert.alerts.slice(0, LIMITS.fingerprintsRecorded).map((a) => a.fingerprint),
      labels: { ...alert.labels },
      ...(alert.externalUrl ? { externalUrl: alert.externalUrl } : {}),
      ...(incident.truncated ? { truncated: incident.truncated.map((t) => ({ ...t })) } : {}),
      ...(incident.originalPayload ? { originalPayload: { ...incident.originalPayload } } : {}),
    },
  });
}

/** The rule that decided, and what the policy added, for the detection event. */
function classificationDetail(c: Classification): JsonObject {
  return {
    rule: c.rule,
    ...(c.matchedRule && c.matchedRule !== c.rule ? { matchedRule: c.matchedRule } : {}),
    policyVersion: c.policyVersion,
    ...(c.service !== undefined ? { service: c.service } : {}),
    ...(c.assets.length > 0 ? { assets: [...c.assets] } : {}),
    ...(c.productArea !== undefined ? { productArea: c.productArea } : {}),
  };
}

async function fold(
  deps: OpenIncidentDeps,
  incident: Incident,
  alert: NormalizedAlert,
  at: string,
  seen: readonly string[],
): Promise<void> {
  // A long-lived group keeps reporting new occurrences; the key remembers a bounded number of them.
  const fresh = alert.occurrences.filter((o) => !seen.includes(o));
  await deps.incidents.addOccurrences(
    alert.correlationKey,
    fresh.slice(0, Math.max(0, LIMITS.occurrencesKept - seen.length)),
  );
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `alert:${alert.deliveryKey}`,
    at,
    world: 'RML2',
    type: 'alert_folded',
    phase: incident.phase,
    summary: alert.declaredBy
      ? `Declared again by ${alert.declaredBy.reporter} from CS ticket ${alert.declaredBy.csTicketId}; folded into ${incident.id}`
      : `${alert.source} ${alert.status === 'resolved' ? 'reports the alert resolved' : 'sent the alert again'} (${alert.alerts.length} alert${alert.alerts.length === 1 ? '' : 's'}); folded into ${incident.id}`,
    detail: {
      deliveryKey: alert.deliveryKey,
      status: alert.status,
      alertCount: alert.alerts.length,
      ...reportedBy(alert).detail,
    },
  });
  // A redelivery after a failed first attempt still gets its detection recorded and its lifecycle
  // started; a closed incident's lifecycle is over and stays over.
  await recordDetection(deps, incident, alert, classifyAlert(alert, deps.alertPolicy));
  if (isOpen(incident)) await deps.workflow.start(incident.executionName, { incidentId: incident.id });
}
