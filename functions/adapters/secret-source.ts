/** A secret given locally as a value, or on AWS as a Secrets Manager secret read at run time. */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

export type SecretSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'secret'; readonly secretId: string };

/**
 * The secret's current value. Secrets Manager is read through a five-minute cache, so a rotated
 * secret takes effect without a deploy; `what` names the secret in the error when it is empty.
 */
export async function readSecret(source: SecretSource, what: string): Promise<string> {
  if (source.kind === 'value') return source.value;
  const secret = await getSecret(source.secretId, { maxAge: 300 });
  if (typeof secret !== 'string' || secret.length === 0) throw new Error(`The ${what} secret is empty`);
  return secret;
}
