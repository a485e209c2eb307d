/**
 * The cross-source correlation key: where the trouble is (service, environment, tenant), so the
 * same problem reported by two tools — Alertmanager and PagerDuty, say — folds into one incident.
 * It is an additional key: each source's own key (Alertmanager's receiver + groupKey, a
 * declaration's CS ticket) still decides repeats, so no incident open before this key existed
 * gets a twin; and it joins only another source's report, since two groups from one source are two
 * troubles by that source's own grouping.
 */
import type { Classification, NormalizedAlert } from './alert.ts';
import { sha256Hex } from './json.ts';

/** The label that names the cross-source key outright, overriding service, environment and tenant. */
export const CORRELATION_LABEL = 'casebook_correlation';

/**
 * The alert's cross-source key, or undefined when it names no service (nothing to correlate on).
 * The service is ours — the policy's mapping of the source's service — where the policy maps it.
 */
export function crossSourceKey(alert: NormalizedAlert, classification: Classification): string | undefined {
  const override = alert.labels[CORRELATION_LABEL];
  if (override) return `cross:${sha256Hex(`label\n${override}`).slice(0, 32)}`;
  const service = classification.service ?? alert.service;
  if (!service) return undefined;
  return `cross:${sha256Hex(`${service}\n${alert.environment ?? ''}\n${alert.tenant ?? ''}`).slice(0, 32)}`;
}

/** Whether two correlation keys are of one source: a key begins with its source's name and a colon. */
export function sameSource(a: string, b: string): boolean {
  const source = a.slice(0, a.indexOf(':') + 1);
  return source.length > 0 && b.startsWith(source);
}
