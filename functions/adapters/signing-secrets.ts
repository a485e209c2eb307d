/**
 * The webhook signing secrets, read once per cold start (from the environment locally, from
 * Secrets Manager on AWS). A read that fails is tried again by the next request rather than kept.
 */
import type { SigningSecrets } from '../ingest-alert/sources.ts';
import type { SecretSource } from './secret-source.ts';
import { readSecret } from './secret-source.ts';

/**
 * The secrets a value holds: one, or while a secret is being rotated the new and the old,
 * separated by whitespace or commas.
 */
export function secretList(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

export function signingSecrets(
  sources: Readonly<Record<keyof SigningSecrets, SecretSource>>,
): SigningSecrets {
  const out: SigningSecrets = {};
  for (const [name, source] of Object.entries(sources) as [keyof SigningSecrets, SecretSource][]) {
    let read: Promise<readonly string[]> | undefined;
    out[name] = () => {
      read ??= readSecret(source, `${name} signing secret`).then(secretList, (error: unknown) => {
        read = undefined;
        throw error;
      });
      return read;
    };
  }
  return out;
}
