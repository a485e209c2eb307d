/**
 * How an alert source proves a webhook came from it: what each source's verifier reads from a
 * request, and the HMAC and timestamp checks they share. Every comparison is constant-time, and a
 * verdict names what was wrong without echoing anything secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../json.ts';

/** A webhook request as a verifier sees it: the raw body (signatures cover its bytes), headers, the time. */
export interface WebhookRequest {
  readonly body: Buffer;
  header(name: string): string | undefined;
  readonly now: Date;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly problem: string };

export const ACCEPTED: Verdict = { ok: true };
export const refused = (problem: string): Verdict => ({ ok: false, problem });

/**
 * How far a signed timestamp may be from Casebook's clock, either way: a captured request replayed
 * later is refused, while a sender whose clock runs a little fast or slow is not.
 */
export const REPLAY_WINDOW_SECONDS = 300;

/** Lowercase hex HMAC-SHA256 of `parts` concatenated, keyed with `secret` as UTF-8. */
export function hmacSha256Hex(secret: string, ...parts: ReadonlyArray<string | Buffer>): string {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
}

/** Whether two strings are equal, in time that depends on neither (both are hashed first). */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(sha256Hex(presented), 'hex'), Buffer.from(sha256Hex(expected), 'hex'));
}

/**
 * Whether any presented signature equals any expected one. Every pair is compared, so the time
 * taken says nothing about which one matched.
 */
export function anySignatureMatches(presented: readonly string[], expected: readonly string[]): boolean {
  let matched = false;
  for (const p of presented) {
    for (const e of expected) matched = sameSecret(p.toLowerCase(), e) || matched;
  }
  return matched;
}

/** A Unix-seconds timestamp header checked against the replay window; the problem, or undefined. */
export function timestampProblem(raw: string, now: Date): string | undefined {
  if (!/^\d{1,12}$/.test(raw.trim())) return 'timestamp header must be Unix seconds';
  const skew = Math.abs(Number(raw.trim()) - now.getTime() / 1000);
  if (skew > REPLAY_WINDOW_SECONDS) {
    return `timestamp is stale: more than ${REPLAY_WINDOW_SECONDS} seconds from Casebook's clock`;
  }
  return undefined;
}

/** The `v1=<hex>` values of a comma-separated signature header (other versions are skipped). */
export function v1Signatures(header: string): string[] {
  return header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3));
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** The password of an `Authorization: Basic <base64(user:password)>` header. */
export function basicPassword(authorization: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}
