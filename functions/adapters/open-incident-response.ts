/**
 * How an HTTP caller hears what became of an alert or a declaration: 201 with the new incident's
 * location, 200 with the incident it folded into, 202 when no incident was opened (and why).
 */
import type { OpenIncidentResult } from '../use-cases/open-incident.ts';
import type { HttpResult } from './http.ts';
import { json } from './http.ts';

/** The outcome and its triage, as logged and answered. */
export function outcomeSummary(result: OpenIncidentResult) {
  const { classification } = result;
  return {
    outcome: result.outcome,
    world: classification.world,
    severity: classification.severity,
    categories: classification.categories,
    reason: classification.reason,
  };
}

export function openIncidentResponse(result: OpenIncidentResult): HttpResult {
  const summary = outcomeSummary(result);
  if (result.outcome === 'not-an-incident' || result.outcome === 'nothing-open') {
    return json(202, { incidentId: null, ...summary });
  }
  const location = `/incidents/${result.incidentId}`;
  const body = { incidentId: result.incidentId, location, ...summary };
  return result.outcome === 'opened' ? json(201, body, { location }) : json(200, body);
}
