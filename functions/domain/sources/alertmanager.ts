/**
 * Prometheus Alertmanager's webhook payload (webhook_config, `version: "4"`), parsed and
 * normalized. Alertmanager sends the same group again on redelivery and on every
 * `repeat_interval`; both must fold into the incident the group opened.
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import { z } from 'zod';
import type { AlertInstance, NormalizedAlert } from '../alert.ts';
import { parseAddressList } from '../alert.ts';
import type { InputIssue } from '../errors.ts';
import { InvalidInputError } from '../errors.ts';
import { canonicalJson, sha256Hex } from '../json.ts';

// Go's RFC 3339 with optional fractional seconds (Alertmanager sends nanoseconds) and offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const timestamp = z
  .string()
  .regex(RFC3339, 'must be an RFC 3339 timestamp')
  .refine((v) => !Number.isNaN(Date.parse(v)), 'is not a real date');
const stringMap = z.record(z.string(), z.string());

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: stringMap,
  annotations: stringMap.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

/** The webhook body as Alertmanager sends it; unknown members are ignored, as Alertmanager may add some. */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: stringMap.default({}),
  commonLabels: stringMap.default({}),
  commonAnnotations: stringMap.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1, 'must hold at least one alert'),
});

export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;

/** Go's zero time, which Alertmanager sends as `endsAt` of an alert that has not ended. */
const ZERO_TIME = /^0001-01-01T00:00:00/;

function toUtcIso(value: string): string {
  return new Date(value).toISOString();
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc ? `${acc}.${String(part)}` : String(part);
  }, '');
}

/** Parses an Alertmanager webhook body, or throws {@link InvalidInputError} naming every bad field. */
export function parseAlertmanagerWebhook(body: unknown): NormalizedAlert {
  const parsed = alertmanagerWebhookSchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidInputError(
      parsed.error.issues.map((issue) => ({
        field: fieldOf(issue.path) || '(body)',
        message: issue.message,
      })),
    );
  }
  const hook = parsed.data;
  const issues: InputIssue[] = [];

  const alerts: AlertInstance[] = hook.alerts.map((a) => ({
    fingerprint: a.fingerprint,
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: toUtcIso(a.startsAt),
    ...(a.endsAt && !ZERO_TIME.test(a.endsAt) ? { endsAt: toUtcIso(a.endsAt) } : {}),
    ...(a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
  }));

  // Contacts may be given once for the group or per alert; every one must be an address.
  const contacts = new Set<string>();
  const contactSources: Array<[string, string | undefined]> = [
    ['commonAnnotations.customer_contacts', hook.commonAnnotations.customer_contacts],
    ...hook.alerts.map(
      (a, i) =>
        [`alerts[${i}].annotations.customer_contacts`, a.annotations.customer_contacts] as [string, string],
    ),
  ];
  for (const [field, raw] of contactSources) {
    const { addresses, invalid } = parseAddressList(raw);
    if (invalid.length > 0) issues.push({ field, message: `not an email address: ${invalid.join(', ')}` });
    for (const a of addresses) contacts.add(a);
  }
  if (issues.length > 0) throw new InvalidInputError(issues);

  const labels = { ...hook.groupLabels, ...hook.commonLabels };
  const firstAlert = hook.alerts[0];
  const alertname = labels.alertname ?? firstAlert?.labels.alertname;
  const summary = hook.commonAnnotations.summary ?? firstAlert?.annotations.summary;
  const title = summary ?? alertname ?? `Alert group ${hook.groupKey}`;
  const startedAt = alerts.map((a) => a.startsAt).sort()[0] ?? toUtcIso(new Date(0).toISOString());
  const description = hook.commonAnnotations.description ?? firstAlert?.annotations.description;
  const customerSummary = hook.commonAnnotations.customer_summary ?? firstAlert?.annotations.customer_summary;
  const productArea = labels.product_area ?? labels.service;

  return {
    source: 'alertmanager',
    // The receiver is part of the key: one Alertmanager may route the same group to two receivers.
    correlationKey: `alertmanager:${sha256Hex(`${hook.receiver}\n${hook.groupKey}`).slice(0, 32)}`,
    deliveryKey: sha256Hex(
      canonicalJson({
        groupKey: hook.groupKey,
        status: hook.status,
        alerts: alerts.map((a) => [a.fingerprint, a.status, a.startsAt, a.endsAt ?? null]),
      }),
    ).slice(0, 32),
    occurrences: [...new Set(alerts.map((a) => `${a.fingerprint}@${a.startsAt}`))].sort(),
    status: hook.status,
    title,
    ...(description ? { description } : {}),
    labels,
    annotations: hook.commonAnnotations,
    alerts,
    ...(hook.externalURL ? { externalUrl: hook.externalURL } : {}),
    startedAt,
    customerContacts: [...contacts],
    ...(customerSummary ? { customerSummary } : {}),
    ...(productArea ? { productArea } : {}),
  };
}
