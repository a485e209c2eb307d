/**
 * What a person records on the Effect Ledger by hand (seed 001 §6.2, no "shadow operations"): an
 * operation done in an admin tool, a cost of the incident, or a refund, credit or correction done
 * outside Casebook — the body of `POST /incidents/{id}/ledger`, read strictly. Every field that is
 * wrong is named; none is cut or guessed, because a ledger entry cannot be edited afterwards.
 *
 * A customer is named by the company's reference for them (`customerRef`), which the use case
 * turns into the pseudonym the ledger records: no e-mail address or name reaches the entry.
 */
import * as z from 'zod';
import { zodIssues } from './alert.ts';
import { containsEmailAddress } from './email-address.ts';
import type { InputIssue } from './errors.ts';
import { InvalidInputError } from './errors.ts';
import { instantField, required } from './fields.ts';
import type { LedgerEntry } from './ledger.ts';
import type { Money } from './money.ts';
import { currencySchema, parseMajorAmount } from './money.ts';
import type { Obligation } from './plan.ts';
import { utf8Bytes } from './text.ts';
import type { World } from './vocabulary.ts';
import { WORLDS } from './vocabulary.ts';

/** The kinds a person may record: operations and costs, and money moved outside Casebook. */
export const MANUAL_ENTRY_KINDS = [
  'manual_operation',
  'ops_labour',
  'legal_fee',
  'other_cost',
  'refund',
  'credit',
  'correction',
] as const;
export type ManualEntryKind = (typeof MANUAL_ENTRY_KINDS)[number];

/** Kinds that are money and must say how much. */
const NEEDS_AMOUNT: readonly ManualEntryKind[] = ['legal_fee', 'other_cost', 'refund', 'credit'];
/** Kinds done in a provider's or the company's own system, which must give its reference. */
const NEEDS_PROVIDER_REF: readonly ManualEntryKind[] = ['refund', 'credit', 'correction'];
/** Kinds that move money to a customer, who must be named. */
const NEEDS_CUSTOMER: readonly ManualEntryKind[] = ['refund', 'credit'];

/** The ledger idempotency key of a manual entry: apart from the keys Casebook's own steps use. */
export function manualIdempotencyKey(key: string): string {
  return `api:${key}`;
}

/** Whether a ledger entry is one a person recorded by hand. */
export function isManualEntry(entry: Pick<LedgerEntry, 'idempotencyKey'>): boolean {
  return entry.idempotencyKey.startsWith('api:');
}

/** Bounds of the fields, in UTF-8 bytes where they are text. */
export const MANUAL_ENTRY_LIMITS = {
  actorBytes: 400,
  reasonBytes: 2000,
  evidenceBytes: 2048,
  productAreaBytes: 200,
  customerRefBytes: 200,
  providerRefBytes: 400,
  /** Hours of one ops-labour entry. */
  maxHours: 10_000,
} as const;

/** A manual entry as the use case receives it: checked, with its money in minor units. */
export interface ManualEntry {
  readonly kind: ManualEntryKind;
  /** Who did it: a person of the company (`Name <work address>`), never a customer. */
  readonly actor: string;
  readonly reason: string;
  /** An https link to the evidence: the ticket, the invoice, the admin tool's audit record. */
  readonly evidence: string;
  readonly amount?: Money;
  /** Ops labour: hours at finance's rate; `amount` is their product. */
  readonly labour?: { readonly hours: string; readonly rate: Money };
  readonly obligation: Obligation;
  readonly productArea: string;
  /** When it took effect, UTC with milliseconds. */
  readonly effectiveAt: string;
  readonly glCode?: string;
  /** The id (ULID) of the Effect Ledger entry this one corrects. */
  readonly corrects?: string;
  readonly customerRef?: string;
  readonly providerRef?: string;
  readonly world: World;
}

const BIDI_OR_SEPARATOR = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029]/u;
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_NEWLINE_OR_TAB = /[^\P{Cc}\n\t]/u;

/** What is wrong with a text value, or undefined. */
function textProblem(value: string, maxBytes: number, multiline: boolean): string | undefined {
  if (!value.isWellFormed()) return 'must be valid Unicode (it holds a lone surrogate)';
  if ((multiline ? CONTROL_BUT_NEWLINE_OR_TAB : CONTROL).test(value) || BIDI_OR_SEPARATOR.test(value)) {
    return multiline
      ? 'must not hold control or bidirectional formatting characters (newlines and tabs are fine)'
      : 'must be one line without control or bidirectional formatting characters';
  }
  if (value.trim() === '') return 'must not be blank';
  if (utf8Bytes(value) > maxBytes) return `must be at most ${maxBytes} bytes of UTF-8`;
  return undefined;
}

function text(maxBytes: number, options: { multiline?: boolean; noAddresses?: string } = {}) {
  return z.string({ error: required('a string') }).superRefine((value, ctx) => {
    const problem =
      textProblem(value, maxBytes, options.multiline ?? false) ??
      (options.noAddresses && containsEmailAddress(value) ? options.noAddresses : undefined);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const decimal = z
  .string({ error: required('a decimal string such as "1250.00"') })
  .regex(/^\d{1,15}(\.\d+)?$/, 'must be a decimal string in the major unit, such as "1250.00"');

/** The JSON body, field by field; {@link parseManualEntry} adds the rules between fields. */
export const manualEntryBodySchema = z.strictObject({
  kind: z.enum(MANUAL_ENTRY_KINDS, {
    error: required(
      `one of ${MANUAL_ENTRY_KINDS.join(', ')} (the effects Casebook carries out itself are recorded by Act)`,
    ),
  }),
  actor: text(MANUAL_ENTRY_LIMITS.actorBytes),
  reason: text(MANUAL_ENTRY_LIMITS.reasonBytes, {
    multiline: true,
    noAddresses: 'must not hold an e-mail address: name a customer by customerRef',
  }),
  evidence: z
    .string({ error: required('an https URL') })
    .max(MANUAL_ENTRY_LIMITS.evidenceBytes, `must be at most ${MANUAL_ENTRY_LIMITS.evidenceBytes} characters`)
    .pipe(z.url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'must be an https URL' }))
    .refine((v) => !containsEmailAddress(decodeURIComponentSafely(v)), {
      error: 'must not hold an e-mail address',
    }),
  amount: decimal.optional(),
  currency: currencySchema.optional(),
  hours: z
    .string({ error: required('a decimal string of hours such as "2.5"') })
    .regex(/^\d{1,5}(\.\d{1,2})?$/, 'must be a decimal string of hours such as "2.5" (at most 2 decimals)')
    .optional(),
  rate: decimal.optional(),
  obligation: z.enum(['tos', 'brand'], {
    error: required("'tos' (the contractual minimum) or 'brand' (chosen beyond it)"),
  }),
  productArea: text(MANUAL_ENTRY_LIMITS.productAreaBytes, { noAddresses: 'must not hold an e-mail address' }),
  effectiveAt: instantField(),
  glCode: z
    .string({ error: required('a string') })
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/,
      'must be a general-ledger code: letters, digits and ._:/-, at most 64',
    )
    .optional(),
  corrects: z
    .string({ error: required('a string') })
    .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be the id (a ULID) of the Effect Ledger entry it corrects')
    .optional(),
  customerRef: text(MANUAL_ENTRY_LIMITS.customerRefBytes, {
    noAddresses:
      "must be the company's reference for the customer (cus_…, an account number), not an e-mail address",
  }).optional(),
  providerRef: text(MANUAL_ENTRY_LIMITS.providerRefBytes, {
    noAddresses: 'must not hold an e-mail address',
  }).optional(),
  world: z.enum(WORLDS, { error: required(WORLDS.join(', ')) }).optional(),
});

function decodeURIComponentSafely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Hours × rate in minor units, rounded half up to the currency's minor unit: hours have at most
 * two decimals, so the product is exact in hundredths of a minor unit before the one rounding.
 */
export function labourCost(hours: string, rate: Money): Money {
  const [whole = '0', fraction = ''] = hours.split('.');
  const hundredths = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  const minor = (hundredths * BigInt(rate.minor) + 50n) / 100n;
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('hours × rate is too large');
  return { minor: Number(minor), currency: rate.currency };
}

/** Checks a request body; throws {@link InvalidInputError} naming every field that is wrong. */
export function parseManualEntry(body: unknown): ManualEntry {
  const parsed = manualEntryBodySchema.safeParse(body);
  if (!parsed.success)
    throw new InvalidInputError(zodIssues(parsed.error, '', 'is not a field of a manual ledger entry'));
  const b = parsed.data;
  const issues: InputIssue[] = [];
  const problem = (field: string, message: string) => issues.push({ field, message });
  const money = (field: 'amount' | 'rate', value: string | undefined): Money | undefined => {
    if (value === undefined) return undefined;
    if (!b.currency) {
      problem('currency', `is required with ${field}`);
      return undefined;
    }
    try {
      return parseMajorAmount(value, b.currency);
    } catch (error) {
      problem(field, (error as Error).message);
      return undefined;
    }
  };

  if (b.kind === 'ops_labour') {
    if (b.amount !== undefined) problem('amount', 'is hours × rate for ops_labour: send hours and rate');
    if (b.hours === undefined) problem('hours', 'is required for ops_labour');
    if (b.rate === undefined) problem('rate', 'is required for ops_labour (finance’s hourly rate)');
  } else {
    if (b.hours !== undefined) problem('hours', 'is only for ops_labour');
    if (b.rate !== undefined) problem('rate', 'is only for ops_labour');
    if (b.amount === undefined && NEEDS_AMOUNT.includes(b.kind))
      problem('amount', `is required for ${b.kind}`);
  }
  if (b.currency !== undefined && b.amount === undefined && b.rate === undefined) {
    problem('currency', 'is only given with an amount or a rate');
  }
  if (NEEDS_PROVIDER_REF.includes(b.kind) && b.providerRef === undefined) {
    problem('providerRef', `is required for a ${b.kind} done outside Casebook (its reference there)`);
  }
  if (NEEDS_CUSTOMER.includes(b.kind) && b.customerRef === undefined) {
    problem('customerRef', `is required for a ${b.kind}: the customer it went to`);
  }

  const rate = b.kind === 'ops_labour' ? money('rate', b.rate) : undefined;
  let amount = b.kind === 'ops_labour' ? undefined : money('amount', b.amount);
  let labour: ManualEntry['labour'];
  if (rate && b.hours !== undefined) {
    const hours = Number(b.hours);
    if (hours <= 0 || hours > MANUAL_ENTRY_LIMITS.maxHours) {
      problem('hours', `must be more than 0 and at most ${MANUAL_ENTRY_LIMITS.maxHours}`);
    } else {
      try {
        amount = labourCost(b.hours, rate);
        labour = { hours: b.hours, rate };
      } catch (error) {
        problem('hours', (error as Error).message);
      }
    }
  }
  if (amount && amount.minor <= 0 && b.corrects === undefined) {
    problem(
      b.kind === 'ops_labour' ? 'rate' : 'amount',
      'must be more than 0 (0 only replaces an amount it corrects)',
    );
  }
  if (issues.length > 0) throw new InvalidInputError(issues);

  return {
    kind: b.kind,
    actor: b.actor,
    reason: b.reason,
    evidence: b.evidence,
    ...(amount ? { amount } : {}),
    ...(labour ? { labour } : {}),
    obligation: b.obligation,
    productArea: b.productArea,
    effectiveAt: b.effectiveAt,
    ...(b.glCode !== undefined ? { glCode: b.glCode } : {}),
    ...(b.corrects !== undefined ? { corrects: b.corrects } : {}),
    ...(b.customerRef !== undefined ? { customerRef: b.customerRef } : {}),
    ...(b.providerRef !== undefined ? { providerRef: b.providerRef } : {}),
    world: b.world ?? 'RML3',
  };
}
