/**
 * An incident declared by hand (seed 000 §2.1: "CS/Sales escalates customer complaints"): the body
 * of `POST /incidents`, read strictly and turned into the same {@link NormalizedAlert} an alert
 * source hands over, so it opens, folds and starts its lifecycle exactly as an alert does.
 *
 * The CS ticket is the correlation key: whoever declares the same ticket again, and however often
 * a client retries, gets the incident that ticket already opened — even after it closed.
 *
 * Values are refused rather than cut (a person can shorten what they wrote), and a customer's
 * e-mail address is refused in the title and description: those reach the timeline and the Effect
 * Ledger, which cannot be erased; the ticket holds the customer's details.
 */
import * as z from 'zod';
import type { NormalizedAlert } from '../alert.ts';
import { zodIssues } from '../alert.ts';
import { containsEmailAddress, emailAddress } from '../email-address.ts';
import { InvalidInputError } from '../errors.ts';
import { instantField, required } from '../fields.ts';
import { canonicalJson, sha256Hex } from '../json.ts';
import { LIMITS } from '../limits.ts';
import { subjectLine, utf8Bytes, withoutBidiControls } from '../text.ts';
import { RML3_CATEGORIES, SEVERITIES, WORLDS } from '../vocabulary.ts';

/** The source name of declared incidents, in correlation keys and on the incident. */
export const DECLARATION_SOURCE = 'declared';

/**
 * What a person may say the complaint is about: a default-to-RML3 category (seed 001 §4.1), or
 * `other` — a gray case, treated as RML3 until the SRE lead downscopes it.
 */
export const DECLARATION_CATEGORIES = [...RML3_CATEGORIES, 'other'] as const;

/** How far ahead of Casebook's clock a `startedAt` may be: the declaring tool's clock may run fast. */
const CLOCK_SKEW_MS = 5 * 60_000;

const CONTROL_BUT_LINE_BREAKS_OR_TAB = /[^\P{Cc}\n\r\t]/u;
const CONTROL_OR_BIDI = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029]/u;
const NO_ADDRESS = 'must not hold an e-mail address: the CS ticket names the customer';

/**
 * Free text a person wrote: bidirectional controls stripped (as they are from alert text where it
 * cannot be isolated), one line unless `multiline`, within `maxBytes` of UTF-8 once cleaned.
 */
function prose(maxBytes: number, options: { multiline?: boolean; noAddresses?: boolean } = {}) {
  return z.string({ error: required('a string') }).transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (!raw.isWellFormed()) return fail('must be valid Unicode (it holds a lone surrogate)');
    const value = (options.multiline ? withoutBidiControls(raw) : subjectLine(raw)).trim();
    if (options.multiline && CONTROL_BUT_LINE_BREAKS_OR_TAB.test(value)) {
      return fail('must not hold control characters (line breaks and tabs are fine)');
    }
    if (value === '') return fail('must not be blank');
    if (utf8Bytes(value) > maxBytes) return fail(`must be at most ${maxBytes} bytes of UTF-8`);
    if (options.noAddresses && containsEmailAddress(value)) return fail(NO_ADDRESS);
    return value;
  });
}

/** What is wrong with an identifier as sent, or undefined. */
function identifierProblem(raw: string, maxBytes: number): string | undefined {
  const value = raw.trim();
  if (!raw.isWellFormed()) return 'must be valid Unicode (it holds a lone surrogate)';
  if (CONTROL_OR_BIDI.test(value)) {
    return 'must be one line without control or bidirectional formatting characters';
  }
  if (value === '') return 'must not be blank';
  if (utf8Bytes(value) > maxBytes) return `must be at most ${maxBytes} bytes of UTF-8`;
  if (containsEmailAddress(value)) return "must be the ticket's id or link, not an e-mail address";
  return undefined;
}

/** An identifier: kept as sent (trimmed) or refused, never quietly changed. */
const identifier = (maxBytes: number, what: string) =>
  z.string({ error: required(what) }).transform((raw, ctx) => {
    const message = identifierProblem(raw, maxBytes);
    if (!message) return raw.trim();
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

/** The JSON body of `POST /incidents`, field by field. */
export const declarationBodySchema = z.strictObject({
  title: prose(LIMITS.titleBytes, { noAddresses: true }),
  description: prose(LIMITS.annotationValueBytes, { multiline: true, noAddresses: true }),
  category: z.enum(DECLARATION_CATEGORIES, {
    error: required(`one of ${DECLARATION_CATEGORIES.join(', ')}`),
  }),
  csTicketId: identifier(LIMITS.csTicketIdBytes, "the CS ticket's id or link"),
  reporter: z
    .string({ error: required('the e-mail address of the person declaring') })
    .pipe(emailAddress)
    .transform((v) => v.toLowerCase()),
  severity: z.enum(SEVERITIES, { error: required(SEVERITIES.join(', ')) }).optional(),
  world: z.enum(WORLDS, { error: required(WORLDS.join(', ')) }).optional(),
  productArea: prose(LIMITS.labelValueBytes, { noAddresses: true }).optional(),
  startedAt: instantField().optional(),
});
export type Declaration = z.infer<typeof declarationBodySchema>;

/** The correlation key's hash part for a ticket: the same ticket however it is capitalised or spaced. */
function ticketKey(csTicketId: string): string {
  return sha256Hex(`cs-ticket\n${csTicketId.normalize('NFKC').toLowerCase()}`).slice(0, 32);
}

/**
 * Checks a `POST /incidents` body and makes the alert it stands for; throws
 * {@link InvalidInputError} naming every field that is wrong. `at` is when it arrived (UTC);
 * `principal` the IAM identity that signed the request, when there was one.
 */
export function parseDeclaration(
  body: unknown,
  context: { readonly at: string; readonly principal?: string },
): NormalizedAlert {
  const parsed = declarationBodySchema.safeParse(body);
  if (!parsed.success) {
    throw new InvalidInputError(zodIssues(parsed.error, '', 'is not a field of a declaration'));
  }
  const d = parsed.data;
  if (d.startedAt && Date.parse(d.startedAt) > Date.parse(context.at) + CLOCK_SKEW_MS) {
    throw new InvalidInputError({ field: 'startedAt', message: 'must not be in the future' });
  }
  const key = ticketKey(d.csTicketId);
  const startedAt = d.startedAt ?? context.at;
  // Labels are what triage reads (category, severity, world) and what the case shows of the ticket.
  const labels: Record<string, string> = {
    category: d.category,
    cs_ticket: d.csTicketId,
    reporter: d.reporter,
    ...(d.severity ? { severity: d.severity } : {}),
    ...(d.world ? { world: d.world } : {}),
    ...(d.productArea ? { product_area: d.productArea } : {}),
  };
  return {
    source: DECLARATION_SOURCE,
    correlationKey: `${DECLARATION_SOURCE}:${key}`,
    // What was declared, not when: a retry of the same declaration records nothing new.
    deliveryKey: sha256Hex(canonicalJson(d)).slice(0, 32),
    // One occurrence per ticket, so declaring it again finds its incident even once closed.
    occurrences: [key],
    status: 'firing',
    title: d.title,
    description: d.description,
    labels,
    annotations: {},
    alerts: [{ fingerprint: key, status: 'firing', startsAt: startedAt }],
    startedAt,
    customerContacts: [],
    ...(d.productArea ? { productArea: d.productArea } : {}),
    truncated: [],
    declaredBy: {
      reporter: d.reporter,
      csTicketId: d.csTicketId,
      ...(context.principal ? { principal: context.principal } : {}),
    },
  };
}
