/** Checks a webhook's bearer token against the configured one, in constant time. */
import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../domain/json.ts';
import type { SecretSource } from './secret-source.ts';
import { readSecret } from './secret-source.ts';

export type WebhookTokenSource = SecretSource;

/** Returns a verifier; a Secrets Manager secret is re-read every five minutes (see readSecret). */
export function webhookTokenVerifier(
  source: WebhookTokenSource,
): (presented: string | undefined) => Promise<boolean> {
  const expected = (): Promise<string> => readSecret(source, 'webhook token');
  return async (presented) => {
    if (!presented) return false;
    // Hash both so the comparison is constant-time whatever the lengths.
    const a = Buffer.from(sha256Hex(presented), 'hex');
    const b = Buffer.from(sha256Hex(await expected()), 'hex');
    return timingSafeEqual(a, b);
  };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}
