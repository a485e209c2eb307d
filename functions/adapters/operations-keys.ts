/**
 * Every key of the operational table, built in one place (single-table design; the schema is
 * `OPERATIONS_TABLE` in `tables.ts`):
 *
 * | item                         | pk                    | sk                                  |
 * |------------------------------|-----------------------|-------------------------------------|
 * | incident                     | `INCIDENT#<id>`       | `META` (+ index byCreation)         |
 * | timeline event               | `INCIDENT#<id>`       | `EVENT#<key>`                       |
 * | approval                     | `INCIDENT#<id>`       | `APPROVAL#<round, 4 digits>#<role>` |
 * | affected customer            | `INCIDENT#<id>`       | `CUSTOMER#<list version, 4>#<ref>`  |
 * | effect of a plan             | `INCIDENT#<id>`       | `EFFECT#<plan version, 4>#<n, 6>`   |
 * | a wait for people            | `INCIDENT#<id>`       | `WAIT#<step>`                       |
 * | an effect's question         | `INCIDENT#<id>`       | `QUESTION#<effect id>#<n, 4>`       |
 * | correlation key              | `CORRELATION#<key>`   | `META`                              |
 * | incident counter of a year   | `COUNTER`             | `incident#<year>`                   |
 *
 * Numbers inside sort keys are zero-padded so that items sort as their numbers do.
 */

export const META = 'META';
/** Partition of the byCreation index that lists every incident. */
export const ALL_INCIDENTS = 'INCIDENTS';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const keys = {
  incident: (id: string) => ({ pk: `INCIDENT#${id}`, sk: META }),
  incidentPartition: (id: string) => `INCIDENT#${id}`,
  event: (incidentId: string, key: string) => ({ pk: `INCIDENT#${incidentId}`, sk: `EVENT#${key}` }),
  eventPrefix: 'EVENT#',
  approval: (incidentId: string, round: number, role: string) => ({
    pk: `INCIDENT#${incidentId}`,
    sk: `APPROVAL#${pad(round, 4)}#${role}`,
  }),
  approvalPrefix: (round: number) => `APPROVAL#${pad(round, 4)}#`,
  customer: (incidentId: string, listVersion: number, ref: string) => ({
    pk: `INCIDENT#${incidentId}`,
    sk: `CUSTOMER#${pad(listVersion, 4)}#${ref}`,
  }),
  customerPrefix: (listVersion: number) => `CUSTOMER#${pad(listVersion, 4)}#`,
  effect: (incidentId: string, effectId: string) => {
    const m = /^P(\d+)-E(\d+)$/.exec(effectId);
    if (!m) throw new Error(`Not an effect id: ${effectId}`);
    return { pk: `INCIDENT#${incidentId}`, sk: `EFFECT#${pad(Number(m[1]), 4)}#${pad(Number(m[2]), 6)}` };
  },
  effectPrefix: (planVersion: number) => `EFFECT#${pad(planVersion, 4)}#`,
  wait: (incidentId: string, step: string) => ({ pk: `INCIDENT#${incidentId}`, sk: `WAIT#${step}` }),
  question: (incidentId: string, effectId: string, n: number) => ({
    pk: `INCIDENT#${incidentId}`,
    sk: `QUESTION#${effectId}#${pad(n, 4)}`,
  }),
  questionPrefix: (effectId?: string) => (effectId ? `QUESTION#${effectId}#` : 'QUESTION#'),
  correlation: (key: string) => ({ pk: `CORRELATION#${key}`, sk: META }),
  counter: (year: number) => ({ pk: 'COUNTER', sk: `incident#${year}` }),
} as const;

/** Attributes that are keys, not part of what an item stores for the domain. */
export const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity'] as const;
