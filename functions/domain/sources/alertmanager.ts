/**
 * Prometheus Alertmanager's webhook payload (webhook_config, `version: "4"`), parsed and
 * normalized. Alertmanager sends the same group again on redelivery and on every
 * `repeat_interval`; both must fold into the incident the group opened.
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import * as z from 'zod';
import type { AlertInstance, NormalizedAlert } from '../alert.ts';
import { parseAddressList, zodIssues } from '../alert.ts';
import type { InputIssue } from '../errors.ts';
import { InvalidInputError } from '../errors.ts';
import { canonicalJson, sha256Hex } from '../json.ts';
import { LIMITS } from '../limits.ts';
import type { Truncation } from '../text.ts';
import { boundText, utf8Bytes } from '../text.ts';
import { looksLikeRfc3339, parseRfc3339 } from '../time.ts';
import { placeFrom } from './place.ts';

// Go's RFC 3339 with optional fractional seconds (Alertmanager sends nanoseconds) and offset.
const timestamp = z
  .string()
  .refine(looksLikeRfc3339, 'must be an RFC 3339 timestamp')
  .refine((v) => !looksLikeRfc3339(v) || parseRfc3339(v) !== undefined, 'is not a real date');
const stringMap = z.record(z.string(), z.string());

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: stringMap,
  annotations: stringMap.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z
    .string()
    .min(1)
    .refine(
      (v) => utf8Bytes(v) <= LIMITS.fingerprintBytes,
      `must be at most ${LIMITS.fingerprintBytes} bytes`,
    ),
});

/**
 * The members Alertmanager's webhook and Grafana's (whose alerting is Alertmanager inside) share;
 * unknown members are ignored, as either tool may add some.
 */
export const alertGroupShape = {
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: stringMap.default({}),
  commonLabels: stringMap.default({}),
  commonAnnotations: stringMap.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1, 'must hold at least one alert'),
};

/** An alert group as both tools send it, once checked. */
export type AlertGroup = z.infer<z.ZodObject<typeof alertGroupShape>>;

/** The webhook body as Alertmanager sends it. */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  ...alertGroupShape,
});

export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;

/** Go's zero time, which Alertmanager sends as `endsAt` of an alert that has not ended. */
const ZERO_TIME = /^0001-01-01T00:00:00/;

/** An instant the schema has already checked. */
function toUtcIso(value: string): string {
  return parseRfc3339(value) as string;
}

/**
 * The entries of `sources` merged (later ones win), with each name checked and each value cut to
 * `valueBytes`; a truncation names the source the kept value came from.
 */
function boundMap(
  sources: ReadonlyArray<readonly [string, Readonly<Record<string, string>>]>,
  limits: { count: number; valueBytes: number; what: string },
  issues: InputIssue[],
  truncations: Truncation[],
): Record<string, string> {
  const from = new Map<string, [string, string]>();
  for (const [field, map] of sources) {
    for (const [name, value] of Object.entries(map)) from.set(name, [field, value]);
  }
  if (from.size > limits.count) {
    const field = sources.at(-1)?.[0] ?? limits.what;
    issues.push({ field, message: `must hold at most ${limits.count} ${limits.what} (has ${from.size})` });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, [field, value]] of from) {
    if (utf8Bytes(name) > LIMITS.nameBytes) {
      issues.push({ field, message: `has a name longer than ${LIMITS.nameBytes} bytes` });
      continue;
    }
    out[name] = boundText(value, limits.valueBytes, `${field}.${name}`, truncations);
  }
  return out;
}

/** The first non-blank value among `candidates`, with the field it came from. */
function firstOf(
  candidates: ReadonlyArray<readonly [string, string | undefined]>,
): [string, string] | undefined {
  const found = candidates.find(([, value]) => value !== undefined && value.trim() !== '');
  return found ? [found[0], found[1] as string] : undefined;
}

/** Parses an Alertmanager webhook body, or throws {@link InvalidInputError} naming every bad field. */
export function parseAlertmanagerWebhook(body: unknown): NormalizedAlert {
  const parsed = alertmanagerWebhookSchema.safeParse(body);
  if (!parsed.success) throw new InvalidInputError(zodIssues(parsed.error));
  const hook = parsed.data;
  // The receiver is part of the key: one Alertmanager may route the same group to two receivers.
  const correlationKey = `alertmanager:${sha256Hex(`${hook.receiver}\n${hook.groupKey}`).slice(0, 32)}`;
  return normalizeAlertGroup(hook, { source: 'alertmanager', correlationKey });
}

/**
 * An Alertmanager-shaped alert group normalized for `source`, under `correlationKey`; throws
 * {@link InvalidInputError} naming every field over its bound.
 */
export function normalizeAlertGroup(
  hook: AlertGroup,
  identity: { readonly source: string; readonly correlationKey: string },
): NormalizedAlert {
  const issues: InputIssue[] = [];
  const truncated: Truncation[] = [];

  const alerts: AlertInstance[] = hook.alerts.map((a) => ({
    fingerprint: a.fingerprint,
    status: a.status,
    startsAt: toUtcIso(a.startsAt),
    ...(a.endsAt && !ZERO_TIME.test(a.endsAt) ? { endsAt: toUtcIso(a.endsAt) } : {}),
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
    if (invalid.length > 0) {
      const shown = invalid.slice(0, 5).map((a) => (a.length > 80 ? `${a.slice(0, 80)}…` : a));
      issues.push({ field, message: `not an email address: ${shown.join(', ')}` });
    }
    for (const a of addresses) contacts.add(a);
  }
  if (contacts.size > LIMITS.customerContacts) {
    issues.push({
      field: 'commonAnnotations.customer_contacts',
      message: `must name at most ${LIMITS.customerContacts} customers (names ${contacts.size})`,
    });
  }

  const labels = boundMap(
    [
      ['groupLabels', hook.groupLabels],
      ['commonLabels', hook.commonLabels],
    ],
    { count: LIMITS.labels, valueBytes: LIMITS.labelValueBytes, what: 'labels' },
    issues,
    truncated,
  );
  const annotations = boundMap(
    [['commonAnnotations', hook.commonAnnotations]],
    { count: LIMITS.annotations, valueBytes: LIMITS.annotationValueBytes, what: 'annotations' },
    issues,
    truncated,
  );
  if (issues.length > 0) throw new InvalidInputError(issues);

  const firstAlert = hook.alerts[0];
  const annotation = (name: string) =>
    firstOf([
      [`commonAnnotations.${name}`, hook.commonAnnotations[name]],
      [`alerts[0].annotations.${name}`, firstAlert?.annotations[name]],
    ]);
  const bounded = (found: [string, string] | undefined, maxBytes: number) =>
    found ? boundText(found[1], maxBytes, found[0], truncated) : undefined;
  const title = bounded(
    annotation('summary') ??
      firstOf([
        ['commonLabels.alertname', hook.commonLabels.alertname],
        ['groupLabels.alertname', hook.groupLabels.alertname],
        ['alerts[0].labels.alertname', firstAlert?.labels.alertname],
        ['groupKey', `Alert group ${hook.groupKey}`],
      ]),
    LIMITS.titleBytes,
  ) as string;
  const description = bounded(annotation('description'), LIMITS.annotationValueBytes);
  const customerSummary = bounded(annotation('customer_summary'), LIMITS.annotationValueBytes);
  const externalUrl = bounded(
    hook.externalURL ? ['externalURL', hook.externalURL] : undefined,
    LIMITS.urlBytes,
  );
  const startedAt = alerts.map((a) => a.startsAt).sort()[0] ?? new Date(0).toISOString();
  const productArea = labels.product_area ?? labels.service;
  const occurrences = [...new Set(alerts.map((a) => `${a.fingerprint}@${a.startsAt}`))].sort();

  const place = placeFrom(
    [
      ['commonLabels', labels],
      ['commonAnnotations', annotations],
    ],
    truncated,
  );

  return {
    source: identity.source,
    correlationKey: identity.correlationKey,
    deliveryKey: sha256Hex(
      canonicalJson({
        groupKey: hook.groupKey,
        status: hook.status,
        alerts: alerts.map((a) => [a.fingerprint, a.status, a.startsAt, a.endsAt ?? null]),
      }),
    ).slice(0, 32),
    occurrences: occurrences.slice(0, LIMITS.occurrencesKept),
    status: hook.status,
    title,
    ...(description ? { description } : {}),
    labels,
    annotations,
    alerts,
    ...(externalUrl ? { externalUrl } : {}),
    startedAt,
    customerContacts: [...contacts],
    ...(customerSummary ? { customerSummary } : {}),
    ...(productArea ? { productArea } : {}),
    ...place,
    // The same value can be cut twice (description is an annotation too): record it once.
    truncated: [...new Map(truncated.map((t) => [t.field, t])).values()],
  };
}
