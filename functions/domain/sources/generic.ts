/**
 * Casebook's own webhook, for tools that can send JSON but are none of the sources above: a
 * documented body (README "Generic webhook") and an HMAC signature with a timestamp.
 *
 * The sender signs `"<unix seconds>." + body` with HMAC-SHA256 under the shared secret and sends
 * `X-Casebook-Timestamp: <unix seconds>` and `X-Casebook-Signature: v1=<hex>` (several `v1=`,
 * comma-separated, while the secret is being rotated). A timestamp outside the replay window is
 * refused, so a captured request cannot be sent again later.
 */
import * as z from 'zod';
import type { NormalizedAlert } from '../alert.ts';
import { zodIssues } from '../alert.ts';
import { isEmailAddress } from '../email-address.ts';
import { InvalidInputError } from '../errors.ts';
import { instantField } from '../fields.ts';
import { canonicalJson, sha256Hex } from '../json.ts';
import { LIMITS } from '../limits.ts';
import type { Truncation } from '../text.ts';
import { boundText, utf8Bytes } from '../text.ts';
import type { Verdict, WebhookRequest } from './signature.ts';
import {
  ACCEPTED,
  anySignatureMatches,
  hmacSha256Hex,
  refused,
  timestampProblem,
  v1Signatures,
} from './signature.ts';

export const GENERIC_SIGNATURE_HEADER = 'X-Casebook-Signature';
export const GENERIC_TIMESTAMP_HEADER = 'X-Casebook-Timestamp';

const name = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => utf8Bytes(v) <= LIMITS.nameBytes, `must be at most ${LIMITS.nameBytes} bytes`);
const identifier = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .trim()
    .min(1, 'must not be blank')
    .refine(
      (v) => utf8Bytes(v) <= LIMITS.fingerprintBytes,
      `must be at most ${LIMITS.fingerprintBytes} bytes`,
    );
const stringMap = (max: number, what: string) =>
  z
    .record(name, z.string())
    .refine((m) => Object.keys(m).length <= max, `must hold at most ${max} ${what}`)
    .default({});

/** The body of `POST /webhooks/generic`; unknown members are refused, so a misspelt one is noticed. */
export const genericWebhookSchema = z.strictObject({
  version: z.literal('1', { error: 'must be "1"' }),
  key: identifier('the key that groups notifications about one problem'),
  status: z.enum(['firing', 'resolved'], { error: 'must be firing or resolved' }),
  title: z.string().min(1, 'must not be empty'),
  description: z.string().optional(),
  startedAt: instantField(),
  endedAt: instantField().optional(),
  occurrence: identifier('an id of this occurrence').optional(),
  labels: stringMap(LIMITS.labels, 'labels'),
  annotations: stringMap(LIMITS.annotations, 'annotations'),
  service: z.string().optional(),
  environment: z.string().optional(),
  tenant: z.string().optional(),
  region: z.string().optional(),
  traceId: z.string().optional(),
  requestId: z.string().optional(),
  url: z.string().optional(),
  customerContacts: z
    .array(z.string().refine(isEmailAddress, 'must be an e-mail address'))
    .max(LIMITS.customerContacts)
    .default([]),
  customerSummary: z.string().optional(),
});

export type GenericWebhook = z.infer<typeof genericWebhookSchema>;

const PLACE_FIELDS = ['service', 'environment', 'tenant', 'region', 'traceId', 'requestId'] as const;

/** Parses a generic webhook body, or throws {@link InvalidInputError} naming every bad field. */
export function parseGenericWebhook(body: unknown): NormalizedAlert {
  const parsed = genericWebhookSchema.safeParse(body);
  if (!parsed.success)
    throw new InvalidInputError(zodIssues(parsed.error, '', 'is not a field of the generic webhook'));
  const hook = parsed.data;
  const truncated: Truncation[] = [];
  const cut = (value: string | undefined, field: string, maxBytes: number) =>
    value?.trim() ? boundText(value.trim(), maxBytes, field, truncated) : undefined;
  const cutMap = (map: Record<string, string>, field: string, maxBytes: number) =>
    Object.fromEntries(
      Object.entries(map).map(([k, v]) => [k, boundText(v, maxBytes, `${field}.${k}`, truncated)]),
    );

  const labels = cutMap(hook.labels, 'labels', LIMITS.labelValueBytes);
  const annotations = cutMap(hook.annotations, 'annotations', LIMITS.annotationValueBytes);
  const fingerprint = hook.occurrence ?? hook.key;
  const resolved = hook.status === 'resolved';
  const place: Record<string, string> = {};
  for (const field of PLACE_FIELDS) {
    const value = cut(hook[field], field, LIMITS.labelValueBytes);
    if (value) place[field] = value;
  }
  const description = cut(hook.description, 'description', LIMITS.annotationValueBytes);
  const customerSummary = cut(hook.customerSummary, 'customerSummary', LIMITS.annotationValueBytes);
  const externalUrl = cut(hook.url, 'url', LIMITS.urlBytes);
  const productArea = labels.product_area ?? place.service;

  return {
    source: 'generic',
    correlationKey: `generic:${sha256Hex(`key\n${hook.key}`).slice(0, 32)}`,
    deliveryKey: sha256Hex(
      canonicalJson({ key: hook.key, fingerprint, status: hook.status, startedAt: hook.startedAt }),
    ).slice(0, 32),
    occurrences: [`${fingerprint}@${hook.startedAt}`],
    status: hook.status,
    title: boundText(hook.title, LIMITS.titleBytes, 'title', truncated),
    ...(description ? { description } : {}),
    labels,
    annotations,
    alerts: [
      {
        fingerprint,
        status: hook.status,
        startsAt: hook.startedAt,
        ...(resolved && hook.endedAt ? { endsAt: hook.endedAt } : {}),
      },
    ],
    ...(externalUrl ? { externalUrl } : {}),
    startedAt: hook.startedAt,
    customerContacts: [...new Set(hook.customerContacts.map((a) => a.toLowerCase()))],
    ...(customerSummary ? { customerSummary } : {}),
    ...(productArea ? { productArea } : {}),
    ...place,
    truncated,
  };
}

/** The signature a sender puts in `X-Casebook-Signature` for `body` sent at `timestamp` (Unix seconds). */
export function genericSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `v1=${hmacSha256Hex(secret, `${timestamp}.`, body)}`;
}

/** Checks the timestamp against the replay window and the `v1=` signatures against each of `secrets`. */
export function verifyGenericSignature(request: WebhookRequest, secrets: readonly string[]): Verdict {
  const timestamp = request.header(GENERIC_TIMESTAMP_HEADER);
  if (!timestamp?.trim()) return refused(`${GENERIC_TIMESTAMP_HEADER} header is missing`);
  const problem = timestampProblem(timestamp, request.now);
  if (problem) return refused(problem);
  const header = request.header(GENERIC_SIGNATURE_HEADER);
  if (!header?.trim()) return refused(`${GENERIC_SIGNATURE_HEADER} header is missing`);
  const presented = v1Signatures(header);
  if (presented.length === 0) return refused(`${GENERIC_SIGNATURE_HEADER} holds no v1= signature`);
  const expected = secrets.map((secret) => hmacSha256Hex(secret, `${timestamp.trim()}.`, request.body));
  return anySignatureMatches(presented, expected)
    ? ACCEPTED
    : refused(`no ${GENERIC_SIGNATURE_HEADER} signature matches the timestamp and body`);
}
