/**
 * Use case: an alert arrives — from a source's webhook, or declared by a person from a customer
 * complaint — open an incident for it, or fold it into the one it belongs to.
 *
 * Primary course:
 *  1. Triage the alert by the classification policy (world, categories, severity, the deciding rule).
 *  2. Note the notification on its correlation key in one write: a repeat of an open incident's
 *     alert is counted there, its new occurrences and resolutions added, and the write answers
 *     what the key held before. A key nobody holds is claimed in the same write, for the number
 *     after the last one this instance knows to be taken (no read first); a key this instance has
 *     noted before is noted without a claim, a shorter write.
 *  3. A repeat: record on the timeline only what is new (an occurrence, a status, every signal
 *     resolved); start the lifecycle only if its start never completed.
 *  4. A claim: if a value of the alert had to be cut to its bound, keep the whole payload in the
 *     archive; write the incident under the claimed number — if another alert group's incident
 *     took the number, move the claim to the next one; record the number as taken; write the
 *     detection event and the Detect entry of the Effect Ledger (at the new log's genesis head);
 *     start the lifecycle execution named after the incident.
 *  5. A key the one write could not note — held by a closed incident, claimed before keys carried
 *     the open flag, or remembering all the occurrences it may — takes the long way: read it, fold
 *     into its incident if that is open (or closed but already holding every occurrence this
 *     notification reports), else claim it for a new incident.
 *
 * Only the delivery whose write created the incident answers `opened`; every other delivery of
 * the same group answers `folded`, even one that finishes an opening another delivery abandoned.
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
import { crossSourceKey, sameSource } from '../domain/correlation.ts';
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
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
  Correlation,
  IncidentStore,
  Ledger,
  PayloadArchive,
  Workflow,
} from '../domain/ports.ts';
import type { Phase } from '../domain/vocabulary.ts';

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
 * How long the delivery that claimed a key has to write its incident and start its lifecycle
 * before another delivery of the group takes over: until then the others only count themselves,
 * so a burst of one new alert starts one execution.
 */
const OPENING_GRACE_MS = 30_000;

/** How often, and how long apart, a delivery looks for the incident another one is opening. */
const OPENING_LOOKS = 12;
const OPENING_LOOK_MS = 50;

/**
 * The highest incident number each store's instance has seen taken, per year: the number a claim
 * proposes without reading the counter. A hint like the counter itself — a stale one costs a
 * refused incident write and a read, never a gap or a duplicate.
 */
const lastTaken = new WeakMap<IncidentStore, Map<number, number>>();

/**
 * The last number this instance knows taken in `year`, reading the counter when it knows none —
 * and with it, in the same request, the cross-source key `cross` (its holder, when read).
 */
async function lastNumber(
  incidents: IncidentStore,
  year: number,
  cross: string | undefined,
): Promise<{ last: number; crossHeld?: Correlation }> {
  const known = lastTaken.get(incidents)?.get(year);
  if (known !== undefined) return { last: known };
  const read = cross
    ? await incidents.lastIncidentNumberAndKey(year, cross)
    : { last: await incidents.lastIncidentNumber(year) };
  remember(incidents, year, read.last);
  return { last: read.last, ...(read.held ? { crossHeld: read.held } : {}) };
}

function remember(incidents: IncidentStore, year: number, sequence: number): void {
  let years = lastTaken.get(incidents);
  if (!years) {
    years = new Map();
    lastTaken.set(incidents, years);
  }
  years.set(year, Math.max(years.get(year) ?? 0, sequence));
}

/**
 * Correlation keys each store's instance has noted a signal on: a repeat of one proposes no
 * claim, so its write is the short one (no claim to set, no absent key to allow for), which
 * dynalite and DynamoDB parse on every request. A hint like {@link lastTaken}: a key given back
 * since (its incident could not be written) is not noted without a claim, and the long way
 * claims it. Forgotten wholesale past {@link KEYS_REMEMBERED}, so a long-lived instance stays small.
 */
const notedKeys = new WeakMap<IncidentStore, Set<string>>();
const KEYS_REMEMBERED = 10_000;

function notedBefore(incidents: IncidentStore): Set<string> {
  let noted = notedKeys.get(incidents);
  if (!noted || noted.size >= KEYS_REMEMBERED) {
    noted = new Set();
    notedKeys.set(incidents, noted);
  }
  return noted;
}

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
  const mayOpen = classification.isIncident && alert.status === 'firing';
  // 2.
  const year = now.getUTCFullYear();
  const known = notedBefore(deps.incidents);
  const cross = mayOpen ? crossSourceKey(alert, classification) : undefined;
  const counted =
    mayOpen && !known.has(alert.correlationKey) ? await lastNumber(deps.incidents, year, cross) : undefined;
  const proposed = counted ? formatIncidentId(year, counted.last + 1) : undefined;
  // Another group of this source holds the cross-source key, as read with the counter: a claim of
  // it would be refused (a later close of that incident orders after this delivery), so none is sent.
  const crossHeld = counted?.crossHeld;
  const joinable =
    crossHeld?.open && sameSource(alert.correlationKey, crossHeld.owner ?? '') ? undefined : cross;
  const resolved = resolvedOccurrences(alert);
  const answer = await deps.incidents.noteSignal({
    correlationKey: alert.correlationKey,
    occurrences: alert.occurrences,
    resolved,
    status: alert.status,
    at,
    ...(proposed ? { proposed } : {}),
    ...(cross ? { claim: { cross } } : {}),
  });
  const noted = 'refused' in answer ? undefined : answer;
  if (noted) known.add(alert.correlationKey);
  // 4.
  if (noted?.claimed && proposed) {
    if (joinable) {
      const joined = await joinAcrossSources(deps, alert, classification, joinable, proposed, resolved, now);
      if (joined) return joined;
    }
    return openClaimed(deps, alert, classification, proposed, now, original, joinable);
  }
  // 3.
  if (noted && !noted.claimed) {
    const folded = await foldNoted(deps, alert, classification, noted.before, resolved, now);
    if (folded) return folded;
  }
  // 5.
  return theLongWay(deps, alert, classification, now, original);
}

/** The occurrences a notification reports resolved, as its occurrences name them. */
function resolvedOccurrences(alert: NormalizedAlert): string[] {
  const reported = new Set(alert.occurrences);
  return alert.alerts
    .filter((a) => a.status === 'resolved')
    .map((a) => `${a.fingerprint}@${a.startsAt}`)
    .filter((o) => reported.has(o));
}

/**
 * A new group whose cross-source key is held by an open incident — the same trouble reported by
 * another source — joins that incident: its own key is pointed there. Undefined when this delivery
 * claimed the cross-source key too (or it is held by an ended incident): open a new incident.
 */
async function joinAcrossSources(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  classification: Classification,
  cross: string,
  proposed: string,
  resolved: readonly string[],
  now: Date,
): Promise<OpenIncidentResult | undefined> {
  const at = now.toISOString();
  const noted = await deps.incidents.noteSignal({
    correlationKey: cross,
    occurrences: alert.occurrences,
    resolved,
    status: alert.status,
    at,
    proposed,
    claim: { owner: alert.correlationKey },
  });
  if ('refused' in noted) {
    await takeOverCross(deps, alert, cross, proposed, at, noted.held);
    return undefined;
  }
  if (noted.claimed) return undefined;
  // The incident is joined once it is written under its final number: started, or written by the
  // delivery that claimed the cross-source key.
  let holder: Correlation | undefined = noted.before;
  let target: string | undefined;
  for (let look = 1; holder?.open && look <= OPENING_LOOKS; look++) {
    if (holder.started) target = holder.incidentId;
    else if ((await deps.incidents.getIncident(holder.incidentId))?.correlationKey === holder.owner) {
      target = holder.incidentId;
    }
    if (target || abandoned(holder, now)) break;
    await new Promise((resolve) => setTimeout(resolve, OPENING_LOOK_MS * look));
    holder = await deps.incidents.findCorrelation(cross);
  }
  if (!holder?.open) return undefined;
  if (!target && abandoned(holder, now)) {
    // Its opener is gone and its own sender did not finish the opening within the grace (it may
    // never deliver again): the key goes to this delivery's incident, or every other source's
    // report of the trouble would wait on it forever.
    const taken = await deps.incidents.claimCorrelation(
      cross,
      proposed,
      holder.incidentId,
      alert.occurrences,
      at,
      {
        owner: alert.correlationKey,
      },
    );
    if (taken.claimed) return undefined;
  }
  if (!target) {
    await deps.incidents.releaseCorrelation(alert.correlationKey, proposed, undefined).catch(() => {});
    throw new CasebookError(
      ERROR_NAMES.dependencyUnavailable,
      `${holder.incidentId}, which ${alert.correlationKey} joins across sources, is still being opened; retry`,
    );
  }
  await deps.incidents.moveClaim(alert.correlationKey, proposed, target, cross);
  await deps.incidents.addTimelineEvent(target, {
    ...foldEvent(target, alert, at),
    summary: `${alert.source} reports the same trouble (${alert.alerts.length} alert${alert.alerts.length === 1 ? '' : 's'}); joined to ${target} across sources`,
  });
  return { outcome: 'folded', incidentId: target, classification };
}

/**
 * Whether the opening `holder` names is past its opener's grace: claimed that long ago (or before
 * claims carried their time) and neither started nor written under its owner since.
 */
function abandoned(holder: Correlation, now: Date): boolean {
  if (holder.started) return false;
  return holder.claimedAt === undefined || now.getTime() - Date.parse(holder.claimedAt) >= OPENING_GRACE_MS;
}

/**
 * Claims a cross-source key its ended incident still holds, for the incident this delivery opens
 * (best effort: should another delivery take it first, this incident opens without it). `known`
 * is the key as a refused claim of it answered, when it did.
 */
async function takeOverCross(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  cross: string,
  incidentId: string,
  at: string,
  known?: Pick<Correlation, 'incidentId' | 'open'>,
): Promise<void> {
  const held = known ?? (await deps.incidents.findCorrelation(cross));
  if (held?.open) return;
  await deps.incidents.claimCorrelation(cross, incidentId, held?.incidentId, alert.occurrences, at, {
    owner: alert.correlationKey,
  });
}

/** Step 4: this delivery claimed the key for `proposed`; write the incident under it (or the next free number). */
async function openClaimed(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  classification: Classification,
  proposed: string,
  now: Date,
  original: string | undefined,
  cross: string | undefined,
): Promise<OpenIncidentResult> {
  const at = now.toISOString();
  const year = now.getUTCFullYear();
  let archived: ArchivedPayload | undefined;
  let incidentId = proposed;
  try {
    if (deps.payloads && original !== undefined && (alert.truncated?.length ?? 0) > 0) {
      archived = await deps.payloads.keep(alert.source, original);
    }
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const drafted = newIncident(incidentId, alert, classification, at, archived);
      const written = (await deps.incidents.createIncident(drafted))
        ? { outcome: 'opened' as const, incident: drafted }
        : await ownWrite(deps, drafted);
      if (written) {
        const { outcome, incident } = written;
        try {
          const number = parseIncidentId(incidentId);
          if (number) {
            await deps.incidents.recordIncidentNumber(number.year, number.sequence);
            remember(deps.incidents, number.year, number.sequence);
          }
          // A log is new only under this delivery's own write: a redelivery's may have begun it.
          await recordDetection(deps, incident, alert, classification, outcome === 'opened');
        } catch (error) {
          await startFailed(deps, incident);
          throw error;
        }
        await startLifecycle(deps, incident);
        return { outcome, incidentId, classification };
      }
      // Another alert group's incident holds the number: move the claim past it.
      const taken = parseIncidentId(incidentId)?.sequence ?? 0;
      remember(deps.incidents, year, taken);
      const next = formatIncidentId(year, Math.max(taken, await deps.incidents.lastIncidentNumber(year)) + 1);
      if (!(await deps.incidents.moveClaim(alert.correlationKey, incidentId, next))) {
        throw new Error(`The claim on ${alert.correlationKey} moved while ${incidentId} was taken`);
      }
      if (cross) await deps.incidents.moveClaim(cross, incidentId, next);
      incidentId = next;
    }
  } catch (error) {
    // Unless its incident is written, the key is given back: no key points at a missing incident.
    // A read that fails keeps it: given back over a written incident, the key would have the
    // redelivery open the trouble again under the next number; kept, it has it finish this one.
    const written = await deps.incidents.getIncident(incidentId).then(Boolean, () => true);
    if (!written) {
      await release(deps, [alert.correlationKey, cross], incidentId);
    }
    throw error;
  }
  await release(deps, [alert.correlationKey, cross], incidentId);
  throw new CasebookError(
    ERROR_NAMES.dependencyUnavailable,
    `No incident number for ${alert.correlationKey} after ${MAX_ATTEMPTS} attempts: concurrent deliveries kept taking them`,
  );
}

/**
 * Whether the incident a refused write found under `drafted`'s number is this group's: this
 * delivery's own write, whose answer was lost and whose retry the condition refused (`opened`: the
 * same detection time), or a redelivery's that finished the opening meanwhile (`folded`). Taking
 * either for another group's would open the trouble a second time under the next number.
 */
async function ownWrite(
  deps: OpenIncidentDeps,
  drafted: Incident,
): Promise<{ outcome: 'opened' | 'folded'; incident: Incident } | undefined> {
  const stored = await deps.incidents.getIncident(drafted.id);
  if (stored?.correlationKey !== drafted.correlationKey) return undefined;
  return { outcome: stored.detectedAt === drafted.detectedAt ? 'opened' : 'folded', incident: stored };
}

/** Gives back the keys this delivery claimed for `incidentId`, as far as it can. */
async function release(
  deps: OpenIncidentDeps,
  keys: readonly (string | undefined)[],
  incidentId: string,
): Promise<void> {
  for (const key of keys) {
    if (key) await deps.incidents.releaseCorrelation(key, incidentId, undefined).catch(() => {});
  }
}

/** Starts the incident's lifecycle; when that fails, says so on its key ({@link startFailed}). */
async function startLifecycle(deps: OpenIncidentDeps, incident: Incident): Promise<void> {
  try {
    await deps.workflow.start(incident.executionName, { incidentId: incident.id });
  } catch (error) {
    await startFailed(deps, incident);
    throw error;
  }
}

/**
 * Says on the incident's key that its opening did not complete (its detection or its start), so
 * that the redelivery the failure asks for finishes it at once rather than waiting out the
 * opener's grace: a sender answered 200 within the grace would not deliver again.
 */
async function startFailed(deps: OpenIncidentDeps, incident: Incident): Promise<void> {
  await deps.incidents.markCorrelation(incident.correlationKey, incident.id, 'start-failed').catch(() => {});
}

/**
 * Step 3: the key was open and noted this notification. Undefined when the incident it names is
 * not (or no longer) this group's, after looking for it while its opener has time: the long way
 * then finishes or corrects what the opener left.
 */
async function foldNoted(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  classification: Classification,
  before: Correlation,
  resolved: readonly string[],
  now: Date,
): Promise<OpenIncidentResult | undefined> {
  const at = now.toISOString();
  let incidentId = before.incidentId;
  if (!before.started) {
    // Opening, or its start never completed: make sure the incident is this group's before naming it.
    const opening =
      before.claimedAt !== undefined && now.getTime() - Date.parse(before.claimedAt) < OPENING_GRACE_MS;
    let incident = await deps.incidents.getIncident(incidentId);
    for (
      let look = 1;
      opening && look <= OPENING_LOOKS && incident?.correlationKey !== alert.correlationKey;
      look++
    ) {
      await new Promise((resolve) => setTimeout(resolve, OPENING_LOOK_MS * look));
      const now = await deps.incidents.findCorrelation(alert.correlationKey);
      if (!now?.open) return undefined;
      incidentId = now.incidentId;
      // Started, or joined to another source's incident: the key's incident is settled.
      if (now.started || now.via) {
        await recordSignal(deps, incidentId, alert, before, resolved, at);
        return { outcome: 'folded', incidentId, classification };
      }
      incident = await deps.incidents.getIncident(incidentId);
    }
    if (incident?.correlationKey !== alert.correlationKey) return undefined;
    if (!opening || !(await detectionWritten(deps, incident.id))) {
      // The landed repair path: the opener wrote the incident but its start did not complete.
      await recordDetection(deps, incident, alert, classifyAlert(alert, deps.alertPolicy));
      await startLifecycle(deps, incident);
    } else if (!(await executionExists(deps, incident.executionName))) {
      // The opener wrote its detection and has had the looks' time to start: it is gone.
      await startLifecycle(deps, incident);
    }
  }
  await recordSignal(deps, incidentId, alert, before, resolved, at);
  return { outcome: 'folded', incidentId, classification };
}

/**
 * Whether the incident's opener has written its detection, looking again while it may still be
 * writing it. An opener killed, or failing, before that is not coming back to it, and its key may
 * not say so: the redelivery then finishes the opening, or the sender, answered 200, never asks
 * again.
 */
async function detectionWritten(deps: OpenIncidentDeps, incidentId: string): Promise<boolean> {
  for (let look = 0; look <= OPENING_LOOKS; look++) {
    if (look > 0) await new Promise((resolve) => setTimeout(resolve, OPENING_LOOK_MS * look));
    if (await deps.ledger.readHead(incidentId)) return true;
  }
  return false;
}

/**
 * Whether the incident's execution exists, looking again while its opener may still be starting
 * it: one killed between its detection and its start is not coming back, and the sender, answered
 * 200, would not ask again.
 */
async function executionExists(deps: OpenIncidentDeps, executionName: string): Promise<boolean> {
  for (let look = 0; look <= OPENING_LOOKS; look++) {
    if (look > 0) await new Promise((resolve) => setTimeout(resolve, OPENING_LOOK_MS * look));
    if ((await deps.workflow.executionStatus(executionName)) !== undefined) return true;
  }
  return false;
}

/** What a noted notification adds to the timeline: nothing for a pure repeat. */
async function recordSignal(
  deps: OpenIncidentDeps,
  incidentId: string,
  alert: NormalizedAlert,
  before: Correlation,
  resolved: readonly string[],
  at: string,
): Promise<void> {
  const seen = new Set(before.occurrences);
  const wasResolved = new Set(before.resolved ?? []);
  const fresh = alert.occurrences.filter((o) => !seen.has(o));
  const newlyResolved = resolved.filter((o) => !wasResolved.has(o));
  // A person declaring it again is news; a tool repeating itself is not.
  const news =
    alert.declaredBy !== undefined ||
    fresh.length > 0 ||
    newlyResolved.length > 0 ||
    (before.status !== undefined && before.status !== alert.status);
  if (news) {
    await deps.incidents.addTimelineEvent(incidentId, foldEvent(incidentId, alert, at));
  }
  // Every occurrence the key has seen is now reported resolved: the signals say the trouble
  // stopped. Whether it is mitigated stays a person's claim.
  const allSeen = new Set([...seen, ...alert.occurrences]);
  const allResolved = new Set([...wasResolved, ...resolved]);
  if (newlyResolved.length > 0 && allSeen.size > 0 && [...allSeen].every((o) => allResolved.has(o))) {
    await deps.incidents.addTimelineEvent(incidentId, {
      key: `signals-resolved:${allResolved.size}`,
      at,
      world: 'RML2',
      type: 'signals_resolved',
      // Signals are what Detect watches; this path does not read the incident's phase.
      phase: 'Detect',
      summary: `All signals resolved: ${alert.source} reports every alert of this group resolved (${allSeen.size} occurrence${allSeen.size === 1 ? '' : 's'}). Mitigation is for a responder to confirm.`,
      detail: { source: alert.source, deliveryKey: alert.deliveryKey, occurrences: allSeen.size },
    });
  }
}

/** Step 5, the long way: read the key and the incident it names, then fold or claim. */
async function theLongWay(
  deps: OpenIncidentDeps,
  alert: NormalizedAlert,
  classification: Classification,
  now: Date,
  original: string | undefined,
): Promise<OpenIncidentResult> {
  const at = now.toISOString();
  const cross = crossSourceKey(alert, classification);
  let correlation = await deps.incidents.findCorrelation(alert.correlationKey);
  let archived: ArchivedPayload | undefined;
  // Numbers seen taken by other alert groups' incidents while trying.
  let taken = 0;

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const holder = correlation ? await deps.incidents.getIncident(correlation.incidentId) : undefined;
    // A key that joined another source's incident names an incident opened under another key.
    const ours = holder?.correlationKey === alert.correlationKey || correlation?.via ? holder : undefined;
    const known =
      alert.occurrences.length > 0 && alert.occurrences.every((o) => correlation?.occurrences.includes(o));
    if (ours && (isOpen(ours) || known)) {
      await fold(deps, ours, alert, at, correlation);
      return { outcome: 'folded', incidentId: ours.id, classification };
    }
    // A delivery claimed the key but its incident is not written (yet): finish under its number.
    const unfinished = correlation && !holder ? correlation.incidentId : undefined;
    if (!unfinished) {
      if (!classification.isIncident) return { outcome: 'not-an-incident', classification };
      if (alert.status === 'resolved') return { outcome: 'nothing-open', classification };
    }

    if (!archived && deps.payloads && original !== undefined && (alert.truncated?.length ?? 0) > 0) {
      archived = await deps.payloads.keep(alert.source, original);
    }

    let incidentId = unfinished;
    if (!incidentId) {
      taken = Math.max(taken, await deps.incidents.lastIncidentNumber(now.getUTCFullYear()));
      incidentId = formatIncidentId(now.getUTCFullYear(), taken + 1);
      const claim = await deps.incidents.claimCorrelation(
        alert.correlationKey,
        incidentId,
        correlation?.incidentId,
        alert.occurrences,
        at,
        cross ? { cross } : {},
      );
      if (!claim.claimed) {
        correlation = await deps.incidents.findCorrelation(alert.correlationKey);
        continue;
      }
      if (cross) {
        const joined = await joinAcrossSources(
          deps,
          alert,
          classification,
          cross,
          incidentId,
          resolvedOccurrences(alert),
          now,
        );
        if (joined) return joined;
      }
    }
    const claimedNow = !unfinished;

    let stored: Incident | undefined;
    let created = false;
    try {
      created = await deps.incidents.createIncident(
        newIncident(incidentId, alert, classification, at, archived),
      );
      stored = await deps.incidents.getIncident(incidentId);
    } catch (error) {
      if (claimedNow) {
        await deps.incidents
          .releaseCorrelation(alert.correlationKey, incidentId, correlation)
          .catch(() => {});
        await release(deps, [cross], incidentId);
      }
      throw error;
    }
    const number = parseIncidentId(incidentId);
    if (!stored || stored.correlationKey !== alert.correlationKey || !number) {
      // Another alert group's incident holds this number: give the keys back, try the next one.
      if (claimedNow) await deps.incidents.releaseCorrelation(alert.correlationKey, incidentId, correlation);
      if (claimedNow && cross) await release(deps, [cross], incidentId);
      if (number?.year === now.getUTCFullYear()) taken = Math.max(taken, number.sequence);
      correlation = await deps.incidents.findCorrelation(alert.correlationKey);
      continue;
    }

    // Written under its final number: the trouble's cross-source key may name it now.
    if (cross) await takeOverCross(deps, alert, cross, incidentId, at);
    await deps.incidents.recordIncidentNumber(number.year, number.sequence);
    remember(deps.incidents, number.year, number.sequence);
    await recordDetection(deps, stored, alert, classification);
    await startLifecycle(deps, stored);
    return { outcome: created ? 'opened' : 'folded', incidentId, classification };
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
  newLog = false,
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
  await deps.ledger.append(
    incident.id,
    {
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
    },
    { newLog },
  );
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
  correlation: Correlation | undefined,
): Promise<void> {
  const seen = correlation?.occurrences ?? [];
  // A long-lived group keeps reporting new occurrences; the key remembers a bounded number of them.
  const fresh = alert.occurrences.filter((o) => !seen.includes(o));
  await deps.incidents.addOccurrences(
    alert.correlationKey,
    fresh.slice(0, Math.max(0, LIMITS.occurrencesKept - seen.length)),
  );
  await deps.incidents.addTimelineEvent(incident.id, foldEvent(incident.id, alert, at, incident.phase));
  // A key that carries the open flag was opened by this version, whose Detect marks the start; one
  // claimed before takes the repair path once and is adopted.
  if (correlation?.open && correlation.started) return;
  // A redelivery after a failed first attempt still gets its detection recorded and its lifecycle
  // started; a closed incident's lifecycle is over and stays over.
  await recordDetection(deps, incident, alert, classifyAlert(alert, deps.alertPolicy));
  if (isOpen(incident)) {
    await startLifecycle(deps, incident);
    if (!correlation?.open)
      await deps.incidents.markCorrelation(alert.correlationKey, incident.id, 'adopted');
  }
}

/** The timeline event of a notification folded into an incident. */
function foldEvent(
  incidentId: string,
  alert: NormalizedAlert,
  at: string,
  phase: Phase = 'Detect',
): TimelineEvent {
  return {
    key: `alert:${alert.deliveryKey}`,
    at,
    world: 'RML2',
    type: 'alert_folded',
    phase,
    summary: alert.declaredBy
      ? `Declared again by ${alert.declaredBy.reporter} from CS ticket ${alert.declaredBy.csTicketId}; folded into ${incidentId}`
      : `${alert.source} ${alert.status === 'resolved' ? 'reports the alert resolved' : 'sent the alert again'} (${alert.alerts.length} alert${alert.alerts.length === 1 ? '' : 's'}); folded into ${incidentId}`,
    detail: {
      deliveryKey: alert.deliveryKey,
      status: alert.status,
      alertCount: alert.alerts.length,
      ...reportedBy(alert).detail,
    },
  };
}
