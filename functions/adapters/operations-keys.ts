/**
 * Every key of the operational table, built in one place (single-table design; the schema is
 * `OPERATIONS_TABLE` in `tables.ts`):
 *
 * | item                         | pk                    | sk                                  |
 * |------------------------------|-----------------------|-------------------------------------|
 * | incident                     | `INCIDENT#<id>`       | `META` (+ index byCreation)         |
 * | timeline event               | `INCIDENT#<id>`       | `EVENT#<key>`                       |
 * | approval                     | `INCIDENT#<id>`       | `APPROVAL#<round, 4 digits>#<role>` |
 * | affected customer            | `INCIDENT#<id>`       | `CUSTOMER#<list version id>#<ref>`  |
 * | effect of a plan             | `INCIDENT#<id>`       | `EFFECT#<plan version id>#<n, 6>`   |
 * | a wait for people            | `INCIDENT#<id>`       | `WAIT#<step>`                       |
 * | an effect's question         | `INCIDENT#<id>`       | `QUESTION#<effect id>#<n, 4>`       |
 * | a person's workroom link     | `INCIDENT#<id>`       | `WORKLINK#<person key>`             |
 * | the postmortem               | `INCIDENT#<id>`       | `POSTMORTEM`                        |
 * | a person told a piece of news| `INCIDENT#<id>`       | `TOLD#<news>#<person key>`          |
 * | correlation key              | `CORRELATION#<key>`   | `META`                              |
 * | a notice SES took            | `SESMESSAGE#<id>`     | `META`                              |
 * | incident numbers of a year   | `COUNTER`             | `incident#<year>`                   |
 * | a month's close (the claim)  | `CLOSES`              | `close#<YYYY-MM>`                   |
 * | a log changed in a window    | `CHANGED#<window>`    | `<incident id>`                     |
 *
 * Only incidents carry the byCreation index keys (`gsi1pk` `INCIDENTS`, `gsi1sk`
 * `<detectedAt>#<id>`), which list them newest first. The numbers counter holds the highest
 * incident number of the year recorded as taken (`n`), a hint the opening of an incident reads.
 *
 * Numbers inside sort keys are zero-padded so that items sort as their numbers do.
 *
 * A version id (`<n>-<ULID>`, see `newVersionId` in `functions/domain/plan.ts`) is unique to the request that
 * wrote the rows: a request that loses its race for the incident leaves its rows under an id no
 * committed incident names, so nothing reads them. Incidents written before version ids name
 * their rows by the bare number, zero-padded to 4 digits, which is what their keys hold.
 */

export const META = 'META';
/** Partition of the byCreation index that lists every incident. */
export const ALL_INCIDENTS = 'INCIDENTS';

const INCIDENT = 'INCIDENT#';
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** A version id as sort keys hold it: `<n>-<ULID>` as it is; a bare number (older rows) padded. */
function segment(versionId: string): string {
  if (/^[1-9]\d{0,8}-[0-9A-HJKMNP-TV-Z]{26}$/.test(versionId)) return versionId;
  if (/^\d{1,9}$/.test(versionId)) return pad(Number(versionId), 4);
  throw new Error(`Not a version id: ${versionId}`);
}

function versionNumber(versionId: string): number {
  return Number(versionId.split('-')[0]);
}

export const keys = {
  incident: (id: string) => ({ pk: `${INCIDENT}${id}`, sk: META }),
  incidentPartition: (id: string) => `${INCIDENT}${id}`,
  /** The byCreation index keys of an incident. */
  byCreation: (detectedAt: string, id: string) => ({ gsi1pk: ALL_INCIDENTS, gsi1sk: `${detectedAt}#${id}` }),
  event: (incidentId: string, key: string) => ({ pk: `${INCIDENT}${incidentId}`, sk: `EVENT#${key}` }),
  eventPrefix: 'EVENT#',
  approval: (incidentId: string, round: number, role: string) => ({
    pk: `${INCIDENT}${incidentId}`,
    sk: `APPROVAL#${pad(round, 4)}#${role}`,
  }),
  approvalPrefix: (round: number) => `APPROVAL#${pad(round, 4)}#`,
  customer: (incidentId: string, listVersionId: string, ref: string) => ({
    pk: `${INCIDENT}${incidentId}`,
    sk: `CUSTOMER#${segment(listVersionId)}#${ref}`,
  }),
  customerPrefix: (listVersionId: string) => `CUSTOMER#${segment(listVersionId)}#`,
  /** An effect of the plan version `planVersionId` names; its number within the plan comes from its id. */
  effect: (incidentId: string, planVersionId: string, effectId: string) => {
    const m = /^P(\d+)-E(\d+)$/.exec(effectId);
    if (!m) throw new Error(`Not an effect id: ${effectId}`);
    if (Number(m[1]) !== versionNumber(planVersionId))
      throw new Error(`Effect ${effectId} is not of plan version ${planVersionId}`);
    return { pk: `${INCIDENT}${incidentId}`, sk: `EFFECT#${segment(planVersionId)}#${pad(Number(m[2]), 6)}` };
  },
  effectPrefix: (planVersionId: string) => `EFFECT#${segment(planVersionId)}#`,
  wait: (incidentId: string, step: string) => ({ pk: `${INCIDENT}${incidentId}`, sk: `WAIT#${step}` }),
  question: (incidentId: string, effectId: string, n: number) => ({
    pk: `${INCIDENT}${incidentId}`,
    sk: `QUESTION#${effectId}#${pad(n, 4)}`,
  }),
  questionPrefix: (effectId?: string) => (effectId ? `QUESTION#${effectId}#` : 'QUESTION#'),
  workLink: (incidentId: string, person: string) => ({
    pk: `${INCIDENT}${incidentId}`,
    sk: `WORKLINK#${person}`,
  }),
  postmortem: (incidentId: string) => ({ pk: `${INCIDENT}${incidentId}`, sk: 'POSTMORTEM' }),
  told: (incidentId: string, news: string, person: string) => ({
    pk: `${INCIDENT}${incidentId}`,
    sk: `TOLD#${news}#${person}`,
  }),
  toldPrefix: (news: string) => `TOLD#${news}#`,
  correlation: (key: string) => ({ pk: `CORRELATION#${key}`, sk: META }),
  sentNotice: (messageId: string) => ({ pk: `SESMESSAGE#${messageId}`, sk: META }),
  counter: (year: number) => ({ pk: 'COUNTER', sk: `incident#${year}` }),
  closesPartition: 'CLOSES',
  close: (period: string) => ({ pk: 'CLOSES', sk: `close#${period}` }),
  /** The mark that an incident's log changed in a change window (functions/domain/anchor.ts). */
  changed: (window: number, incidentId: string) => ({ pk: `${CHANGED}${window}`, sk: incidentId }),
  changedPartition: (window: number) => `${CHANGED}${window}`,
} as const;

/** Partitions of the change marks: the one key prefix the ledger's appenders may put to. */
export const CHANGED = 'CHANGED#';

/** The four keys of an incident in the byCreation index: where a page of the listing stops. */
export function listingKey(id: string, detectedAt: string): Record<string, string> {
  return { ...keys.incident(id), ...keys.byCreation(detectedAt, id) };
}

/**
 * The incident and creation time a listing key names, when `key` is exactly a key
 * {@link listingKey} builds (the same four attributes, nothing else); undefined for anything else.
 */
export function parseListingKey(
  key: Readonly<Record<string, unknown>>,
): { id: string; detectedAt: string } | undefined {
  const { pk, gsi1sk } = key;
  if (typeof pk !== 'string' || !pk.startsWith(INCIDENT) || typeof gsi1sk !== 'string') return undefined;
  const id = pk.slice(INCIDENT.length);
  const detectedAt = gsi1sk.slice(0, Math.max(0, gsi1sk.length - id.length - 1));
  const built = listingKey(id, detectedAt);
  const exact =
    Object.keys(key).length === Object.keys(built).length &&
    Object.entries(built).every(([name, value]) => Object.hasOwn(key, name) && key[name] === value);
  return exact ? { id, detectedAt } : undefined;
}
