/** Incidents for tests that need some in the operational table, opened as an alert would. */
import type { NormalizedAlert } from '../../functions/domain/alert.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { formatIncidentId, openIncident } from '../../functions/domain/incident.ts';

/** A minimal firing alert with its own correlation key. */
export function plainAlert(n: number, overrides: Partial<NormalizedAlert> = {}): NormalizedAlert {
  return {
    source: 'alertmanager',
    correlationKey: `k${n}`,
    deliveryKey: 'd',
    occurrences: [],
    status: 'firing',
    title: `Incident ${n}`,
    labels: {},
    annotations: {},
    alerts: [],
    startedAt: '2026-11-22T09:00:00.000Z',
    customerContacts: [],
    ...overrides,
  };
}

/** `INC-2026-000n`, opened from {@link plainAlert} at 09:0n on 22 Nov 2026. */
export function plainIncident(n: number): Incident {
  return openIncident(
    formatIncidentId(2026, n),
    plainAlert(n),
    classify({}),
    `2026-11-22T09:0${n % 10}:00.000Z`,
  );
}
