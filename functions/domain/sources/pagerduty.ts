/**
 * PagerDuty's v3 webhooks (a webhook subscription): one event per request, `{ event: { id,
 * event_type, resource_type, occurred_at, agent, client, data } }`, where `data` is the incident
 * for the incident lifecycle events. PagerDuty sends its own incidents, not labels: the incident's
 * service is handed over as `service` (its id; the name as a label) for the classification policy
 * to map onto ours, and its priority (`P1`…) as the `priority` label severity is read from.
 *
 * Every delivery is signed: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, a lowercase hex
 * HMAC-SHA256 of the raw body per signing secret, several while a secret is being rotated.
 * https://developer.pagerduty.com/docs/webhooks/v3-overview/ and
 * https://developer.pagerduty.com/docs/verifying-webhook-signatures/
 */
import * as z from 'zod';
import type { AlertInstance, NormalizedAlert } from '../alert.ts';
import { zodIssues } from '../alert.ts';
import { InvalidInputError } from '../errors.ts';
import { instantField } from '../fields.ts';
import { sha256Hex } from '../json.ts';
import { LIMITS } from '../limits.ts';
import type { Truncation } from '../text.ts';
import { boundText, utf8Bytes } from '../text.ts';
import type { IgnoredNotification } from './ignored.ts';
import type { Verdict, WebhookRequest } from './signature.ts';
import { ACCEPTED, anySignatureMatches, hmacSha256Hex, refused, v1Signatures } from './signature.ts';

export const PAGERDUTY_SIGNATURE_HEADER = 'X-PagerDuty-Signature';

/**
 * The event types whose `data` is the incident itself. The others (annotations, status updates,
 * responder requests, services, the subscription's `pagey.ping`) say nothing about whether the
 * trouble is there, and are acknowledged without being recorded.
 */
export const PAGERDUTY_INCIDENT_EVENTS = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.escalated',
  'incident.reassigned',
  'incident.delegated',
  'incident.reopened',
  'incident.priority_updated',
  'incident.resolved',
] as const;

const identifier = z
  .string()
  .min(1)
  .refine((v) => utf8Bytes(v) <= LIMITS.fingerprintBytes, `must be at most ${LIMITS.fingerprintBytes} bytes`);

const reference = z.object({
  id: identifier,
  summary: z.string().optional(),
  html_url: z.string().optional(),
});

const incidentSchema = z.object({
  id: identifier,
  type: z.literal('incident'),
  html_url: z.string().optional(),
  number: z.number().int().optional(),
  status: z.enum(['triggered', 'acknowledged', 'resolved']),
  incident_key: z.string().nullish(),
  created_at: instantField(),
  title: z.string().min(1, 'must not be empty'),
  service: reference,
  priority: reference.partial({ id: true }).nullish(),
  urgency: z.string().optional(),
});

const envelopeSchema = z.object({
  event: z.object({
    id: identifier,
    event_type: z.string().min(1),
    resource_type: z.string().min(1),
    occurred_at: instantField(),
    data: z.unknown(),
  }),
});

/**
 * Parses a PagerDuty v3 webhook body: the incident it reports, normalized, or why the event is
 * acknowledged without being recorded; throws {@link InvalidInputError} naming every bad field.
 */
export function parsePagerDutyWebhook(body: unknown): NormalizedAlert | IgnoredNotification {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw new InvalidInputError(zodIssues(envelope.error));
  const { event } = envelope.data;
  if (!(PAGERDUTY_INCIDENT_EVENTS as readonly string[]).includes(event.event_type)) {
    return { ignored: true, reason: `PagerDuty ${event.event_type.slice(0, 64)} events open no incident` };
  }
  const parsed = incidentSchema.safeParse(event.data);
  if (!parsed.success) throw new InvalidInputError(zodIssues(parsed.error, 'event.data'));
  const incident = parsed.data;
  const truncated: Truncation[] = [];
  const bounded = (
    value: string | null | undefined,
    field: string,
    maxBytes: number = LIMITS.labelValueBytes,
  ) => (value ? boundText(value, maxBytes, field, truncated) : undefined);

  const resolved = incident.status === 'resolved';
  const alert: AlertInstance = {
    fingerprint: incident.id,
    status: resolved ? 'resolved' : 'firing',
    startsAt: incident.created_at,
    ...(resolved ? { endsAt: event.occurred_at } : {}),
  };
  const labelEntries: Array<[string, string | undefined]> = [
    ['pagerduty_service', bounded(incident.service.summary, 'event.data.service.summary')],
    ['pagerduty_service_id', incident.service.id],
    ['pagerduty_incident', incident.id],
    ['pagerduty_incident_number', incident.number === undefined ? undefined : String(incident.number)],
    ['pagerduty_incident_key', bounded(incident.incident_key, 'event.data.incident_key')],
    ['pagerduty_event_type', event.event_type],
    ['priority', bounded(incident.priority?.summary, 'event.data.priority.summary')],
    ['urgency', bounded(incident.urgency, 'event.data.urgency')],
  ];
  const labels = Object.fromEntries(labelEntries.filter((e): e is [string, string] => Boolean(e[1])));
  const externalUrl = bounded(incident.html_url, 'event.data.html_url', LIMITS.urlBytes);

  return {
    source: 'pagerduty',
    correlationKey: `pagerduty:${sha256Hex(`incident\n${incident.id}`).slice(0, 32)}`,
    // A redelivery carries the same event id; another event about the incident is news.
    deliveryKey: sha256Hex(`pagerduty\n${event.id}\n${incident.status}`).slice(0, 32),
    occurrences: [`${incident.id}@${incident.created_at}`],
    status: alert.status,
    title: boundText(incident.title, LIMITS.titleBytes, 'event.data.title', truncated),
    labels,
    annotations: {},
    alerts: [alert],
    ...(externalUrl ? { externalUrl } : {}),
    startedAt: incident.created_at,
    customerContacts: [],
    service: labels.pagerduty_service_id as string,
    truncated,
  };
}

/** Checks the `v1=` signatures PagerDuty sends against each of `secrets`; one match is enough. */
export function verifyPagerDutySignature(request: WebhookRequest, secrets: readonly string[]): Verdict {
  const header = request.header(PAGERDUTY_SIGNATURE_HEADER);
  if (!header?.trim()) return refused(`${PAGERDUTY_SIGNATURE_HEADER} header is missing`);
  const presented = v1Signatures(header);
  if (presented.length === 0) return refused(`${PAGERDUTY_SIGNATURE_HEADER} holds no v1= signature`);
  const expected = secrets.map((secret) => hmacSha256Hex(secret, request.body));
  return anySignatureMatches(presented, expected)
    ? ACCEPTED
    : refused(`no ${PAGERDUTY_SIGNATURE_HEADER} signature matches the body`);
}
