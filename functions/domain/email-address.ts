/**
 * The one rule for an e-mail address, shared by everything that accepts one: the CDK settings
 * (`lib/settings.ts`) at synth, the functions' configuration at cold start, the alert's customer
 * contacts and the Act step's input. One rule, so an address `cdk deploy` accepts never fails a
 * function's first start. A plain address: a display name (`Casebook <casebook@example.com>`) is
 * refused, as SES permissions are scoped to the address and its domain.
 */
import * as z from 'zod';
import { LIMITS } from './limits.ts';
import { utf8Bytes } from './text.ts';

export const emailAddress = z
  .email({ error: 'must be an email address' })
  .refine(
    (v) => utf8Bytes(v) <= LIMITS.emailAddressBytes,
    `must be at most ${LIMITS.emailAddressBytes} bytes`,
  );

export function isEmailAddress(value: unknown): value is string {
  return emailAddress.safeParse(value).success;
}

/** Something shaped like an e-mail address inside free text. */
const ADDRESS_IN_TEXT = /[^\s<>()[\]"',;:@]+@[^\s<>()[\]"',;:@]+\.[^\s<>()[\]"',;:@]+/g;

/** Whether free text holds something shaped like an e-mail address. */
export function containsEmailAddress(text: string): boolean {
  return new RegExp(ADDRESS_IN_TEXT.source).test(text);
}

/** Free text with every e-mail address in it replaced by `[address withheld]`. */
export function withoutEmailAddresses(text: string): string {
  return text.replace(ADDRESS_IN_TEXT, '[address withheld]');
}
