/** Customers' pseudonyms, made with the configured key (read once, then kept for the cold start). */
import { pseudonym } from '../domain/ledger.ts';
import type { SecretSource } from './secret-source.ts';
import { readSecret } from './secret-source.ts';

export function pseudonymizer(source: SecretSource): (customerRef: string) => Promise<string> {
  let key: Promise<Buffer> | undefined;
  return async (customerRef) => {
    key ??= readSecret(source, 'pseudonym key').then((value) => Buffer.from(value, 'utf8'));
    return pseudonym(await key, customerRef);
  };
}
