/** Checks a webhook's bearer token against the configured one, in constant time. */
import { timingSafeEqual } from 'node:crypto';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { sha256Hex } from '../domain/json.ts';

export type WebhookTokenSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'secret'; readonly secretId: string };

/** Returns a verifier; a Secrets Manager secret is cached for five minutes so rotation takes effect without a deploy. */
export function webhookTokenVerifier(
  source: WebhookTokenSource,
): (presented: string | undefined) => Promise<boolean> {
  const expected = async (): Promise<string> => {
    if (source.kind === 'value') return source.value;
    const secret = await getSecret(source.secretId, { maxAge: 300 });
    if (typeof secret !== 'string' || secret.length === 0)
      throw new Error('The webhook token secret is empty');
    return secret;
  };
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
