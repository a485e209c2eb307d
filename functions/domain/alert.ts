/**
 * An alert as Casebook understands it, whatever tool sent it, and the rules that decide whether
 * it is a History World incident (seed 001 §3.2, §4) and how severe it is (seed 003).
 */
import { z } from 'zod';
import type { AlertPolicy, PolicyClassification } from './alert-policy.ts';
import { classifyWithPolicy, DEFAULT_ALERT_POLICY, severityWithPolicy } from './alert-policy.ts';
import { emailAddress, isEmailAddress } from './email-address.ts';
import type { InputIssue } from './errors.ts';
import { InvalidInputError } from './errors.ts';
import { LIMITS } from './limits.ts';
import type { Truncation } from './text.ts';
import { utf8Bytes } from './text.ts';
import { isUtcInstant } from './time.ts';
import type { Severity } from './vocabulary.ts';

/** One alert instance inside a notification: only what identifies it is kept. */
export interface AlertInstance {
  readonly fingerprint: string;
  readonly status: 'firing' | 'resolved';
  readonly startsAt: string;
  readonly endsAt?: string;
}

/** A notification from an alert source, normalized; every text field within its bound in {@link LIMITS}. */
export interface NormalizedAlert {
  readonly source: string;
  /** Stable across redeliveries and repeats of the same alert group: correlates into one incident. */
  readonly correlationKey: string;
  /** Identifies this notification's content, so an exact redelivery records nothing new. */
  readonly deliveryKey: string;
  /**
   * The alert occurrences it reports (`fingerprint@startsAt`, at most `LIMITS.occurrencesKept`): a
   * repeat notification about occurrences an incident already holds folds into it even after it closed.
   */
  readonly occurrences: readonly string[];
  readonly status: 'firing' | 'resolved';
  readonly title: string;
  readonly description?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly alerts: readonly AlertInstance[];
  readonly externalUrl?: string;
  /** Earliest `startsAt` among the alerts: when the trouble began, as far as the source knows. */
  readonly startedAt: string;
  /** Customer contacts the source names (annotation `customer_contacts`), to be notified if the plan says so. */
  readonly customerContacts: readonly string[];
  /** Customer-safe wording of what happened (annotation `customer_summary`), used in notices. */
  readonly customerSummary?: string;
  readonly productArea?: string;
  /** Where the trouble is, as the source names it: each bounded like a label value. */
  readonly service?: string;
  readonly environment?: string;
  readonly tenant?: string;
  readonly region?: string;
  /** Ids a responder can look up in the traces and request logs the source points at. */
  readonly traceId?: string;
  readonly requestId?: string;
  /** The values that were cut to their bounds, with the size and SHA-256 of each whole value. */
  readonly truncated?: readonly Truncation[];
  /** Set when a person declared the incident by hand rather than a tool alerting (`POST /incidents`). */
  readonly declaredBy?: DeclaredBy;
}

/** Who declared an incident by hand, and the customer-support ticket it answers. */
export interface DeclaredBy {
  /** The work address of the person declaring (never a customer's): the detection's actor. */
  readonly reporter: string;
  readonly csTicketId: string;
  /** The IAM principal whose signature API Gateway checked, when there was one. */
  readonly principal?: string;
}

const text = (maxBytes: number) =>
  z
    .string()
    .refine(
      (v) => v.isWellFormed() && utf8Bytes(v) <= maxBytes,
      `must be at most ${maxBytes} bytes of UTF-8`,
    );
const instant = z.string().refine(isUtcInstant, 'must be a UTC instant (2026-11-22T10:23:45.123Z)');
const textMap = (count: number, valueBytes: number) =>
  z
    .record(text(LIMITS.nameBytes), text(valueBytes))
    .refine((map) => Object.keys(map).length <= count, `must hold at most ${count} entries`);

/**
 * What every source parser must hand over. Parsers check their own payloads; this checks what
 * they made of them, so no parser can pass an unchecked or unbounded object to the use cases.
 */
export const normalizedAlertSchema: z.ZodType<NormalizedAlert> = z.object({
  source: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  correlationKey: z.string().regex(/^[a-z][a-z0-9-]{0,31}:[0-9a-f]{32}$/),
  deliveryKey: z.string().regex(/^[0-9a-f]{32}$/),
  occurrences: z.array(text(LIMITS.fingerprintBytes + 32)).max(LIMITS.occurrencesKept),
  status: z.enum(['firing', 'resolved']),
  title: text(LIMITS.titleBytes).pipe(z.string().min(1)),
  description: text(LIMITS.annotationValueBytes).optional(),
  labels: textMap(LIMITS.labels, LIMITS.labelValueBytes),
  annotations: textMap(LIMITS.annotations, LIMITS.annotationValueBytes),
  alerts: z
    .array(
      z.object({
        fingerprint: text(LIMITS.fingerprintBytes).pipe(z.string().min(1)),
        status: z.enum(['firing', 'resolved']),
        startsAt: instant,
        endsAt: instant.optional(),
      }),
    )
    .min(1),
  externalUrl: text(LIMITS.urlBytes).optional(),
  startedAt: instant,
  customerContacts: z
    .array(z.string().refine(isEmailAddress, 'must be an email address'))
    .max(LIMITS.customerContacts),
  customerSummary: text(LIMITS.annotationValueBytes).optional(),
  productArea: text(LIMITS.labelValueBytes).optional(),
  service: text(LIMITS.labelValueBytes).optional(),
  environment: text(LIMITS.labelValueBytes).optional(),
  tenant: text(LIMITS.labelValueBytes).optional(),
  region: text(LIMITS.labelValueBytes).optional(),
  traceId: text(LIMITS.labelValueBytes).optional(),
  requestId: text(LIMITS.labelValueBytes).optional(),
  truncated: z.array(
    z.object({
      field: z.string().max(LIMITS.nameBytes + 64),
      bytes: z.number().int().positive(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
  declaredBy: z
    .object({
      reporter: emailAddress,
      csTicketId: text(LIMITS.csTicketIdBytes).pipe(z.string().min(1)),
      principal: text(LIMITS.principalBytes).optional(),
    })
    .optional(),
});

/**
 * Names each issue by its path: `alerts[0].startsAt`. A member a strict object does not know is
 * named by its own path, with `unknownMember` as the message.
 */
export function zodIssues(
  error: z.ZodError,
  prefix = '',
  unknownMember = 'is not a known field',
): InputIssue[] {
  const pathOf = (parts: readonly PropertyKey[]) =>
    parts.reduce<string>((acc, part) => {
      if (typeof part === 'number') return `${acc}[${part}]`;
      return acc ? `${acc}.${String(part)}` : String(part);
    }, prefix) || '(body)';
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: pathOf([...issue.path, key]), message: unknownMember }))
      : [{ field: pathOf(issue.path), message: issue.message }],
  );
}

/**
 * Checks what a source parser made of a payload against {@link normalizedAlertSchema} and
 * returns only what the schema knows; anything else is a 400 naming the normalized field.
 */
export function checkNormalizedAlert(candidate: unknown): NormalizedAlert {
  const parsed = normalizedAlertSchema.safeParse(candidate);
  if (!parsed.success) throw new InvalidInputError(zodIssues(parsed.error, 'normalized'));
  return parsed.data;
}

/** The outcome of triage: is this a History World incident, how heavy, and which rule said so. */
export type Classification = PolicyClassification;

/** Reads `severity` (or `priority`) labels; a missing or unknown one errs on the serious side. */
export function severityFromLabels(labels: Readonly<Record<string, string>>): {
  severity: Severity;
  fromLabel: boolean;
} {
  return severityWithPolicy(DEFAULT_ALERT_POLICY, labels);
}

/**
 * Triage by labels alone under the default policy (seed 001 §3.2, §4.1): what a source-less
 * caller (a test, a seeded incident) means by "classified as Casebook always has".
 */
export function classify(labels: Readonly<Record<string, string>>): Classification {
  return classifyWithPolicy(DEFAULT_ALERT_POLICY, { source: '', labels });
}

/** Triage of a whole alert under `policy` (none configured: the default, today's triage). */
export function classifyAlert(
  alert: NormalizedAlert,
  policy: AlertPolicy = DEFAULT_ALERT_POLICY,
): Classification {
  return classifyWithPolicy(policy, alert);
}

/** Splits a comma/semicolon/space separated list of addresses; returns the ones that are not addresses too. */
export function parseAddressList(raw: string | undefined): { addresses: string[]; invalid: string[] } {
  const parts = (raw ?? '')
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const addresses = [...new Set(parts.filter(isEmailAddress).map((a) => a.toLowerCase()))];
  return { addresses, invalid: parts.filter((p) => !isEmailAddress(p)) };
}
