/**
 * The affected customers a responder uploads, as CSV (header
 * `customer_ref,email,name,amount,currency,product_area,payment_ref,paid_at,other_emails`, `paid_at` and
 * `other_emails` optional) or as JSON (`{ customers: [...] }`). `other_emails` holds the customer's
 * other addresses, separated by `;` or spaces: where a notice to `email` bounces, a responder may
 * send it to one of them. Amounts are decimals in the currency's major unit, converted exactly to
 * minor units by its ISO 4217 exponent. One bad row refuses the whole upload, every bad line named,
 * so a list is either all there or not there at all.
 */
import { parse } from 'csv-parse/sync';
import * as z from 'zod';
import { emailAddress } from './email-address.ts';
import type { InputIssue } from './errors.ts';
import { InvalidInputError } from './errors.ts';
import type { Money } from './money.ts';
import { isCurrency, parseMajorAmount, paymentAmountProblem } from './money.ts';
import type { Customer } from './plan.ts';

export const CUSTOMER_COLUMNS = [
  'customer_ref',
  'email',
  'name',
  'amount',
  'currency',
  'product_area',
  'payment_ref',
  'paid_at',
  'other_emails',
] as const;

/** The most other addresses one customer may have on the list. */
export const MAX_OTHER_EMAILS = 5;

/** When the customer paid: a date (`2026-12-06`) or a UTC instant (`2026-12-06T10:23:00Z`). */
const PAID_AT = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z)?$/;

/** The most customers one incident's list may hold. */
export const MAX_CUSTOMERS = 50_000;

const optional = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .transform((v) => (v === '' ? undefined : v))
    .optional();

const rowSchema = z
  .object({
    customer_ref: z
      .string()
      .trim()
      .min(1, 'is required')
      .max(200, 'must be at most 200 characters')
      .regex(/^[^#\s]+$/, 'must have no spaces or #'),
    email: z
      .string()
      .trim()
      .transform((v) => (v === '' ? undefined : v))
      .pipe(emailAddress.optional()),
    name: optional(200),
    amount: optional(32),
    currency: optional(3),
    product_area: optional(200),
    payment_ref: optional(200),
    other_emails: z
      .string()
      .trim()
      .transform((v) => (v === '' ? [] : v.split(/[\s;]+/)))
      .pipe(
        z
          .array(emailAddress)
          .max(MAX_OTHER_EMAILS, `must hold at most ${MAX_OTHER_EMAILS} addresses, separated by ;`),
      ),
    paid_at: optional(32).refine(
      (v) => v === undefined || (PAID_AT.test(v) && !Number.isNaN(Date.parse(v))),
      'must be a date such as 2026-12-06, or a UTC time such as 2026-12-06T10:23:00Z',
    ),
  })
  .strict();

/** One row → a customer, or what is wrong with it (fields named as the header names them). */
function toCustomer(row: unknown): { customer?: Customer; problems: string[] } {
  const blank = Object.fromEntries(CUSTOMER_COLUMNS.map((c) => [c, '']));
  const parsed = rowSchema.safeParse(row !== null && typeof row === 'object' ? { ...blank, ...row } : row);
  if (!parsed.success)
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'row'} ${i.message}`) };
  const r = parsed.data;
  const problems: string[] = [];
  let amount: Customer['amount'];
  if (r.amount !== undefined || r.currency !== undefined) {
    if (!r.currency || !isCurrency(r.currency))
      problems.push('currency must be an ISO 4217 code (e.g. EUR) when an amount is given');
    else if (r.amount === undefined) problems.push('amount is required when a currency is given');
    else {
      try {
        amount = parseMajorAmount(r.amount, r.currency);
        problems.push(...amountProblems(amount));
      } catch (error) {
        problems.push(`amount ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) return { problems };
  return {
    problems,
    customer: {
      customerRef: r.customer_ref,
      ...(r.email ? { email: r.email } : {}),
      ...(r.name ? { name: r.name } : {}),
      ...(amount ? { amount } : {}),
      ...(r.product_area ? { productArea: r.product_area } : {}),
      ...(r.payment_ref ? { paymentRef: r.payment_ref } : {}),
      ...(r.paid_at ? { paidAt: r.paid_at } : {}),
      ...(others(r.email, r.other_emails).length > 0 ? { otherEmails: others(r.email, r.other_emails) } : {}),
    },
  };
}

/** The other addresses, each once and none the same as `email` (addresses compared without case). */
function others(email: string | undefined, list: readonly string[]): string[] {
  const seen = new Set(email ? [email.toLowerCase()] : []);
  return list.filter((a) => !seen.has(a.toLowerCase()) && seen.add(a.toLowerCase()) !== undefined);
}

/**
 * A customer's amount is what a refund of `affected` pays back: refused here, before anything is
 * written, when no payment could carry it (or a number could not hold it exactly).
 */
function amountProblems(amount: Money): string[] {
  const problem = paymentAmountProblem(amount);
  return problem ? [`amount ${problem}`] : [];
}

/** Each currency's amounts must add up to a number held exactly (the list's totals are sums). */
function sumProblems(customers: readonly Customer[]): InputIssue[] {
  const sums = new Map<string, number>();
  for (const { amount } of customers)
    if (amount) sums.set(amount.currency, (sums.get(amount.currency) ?? 0) + amount.minor);
  return [...sums]
    .filter(([, minor]) => !Number.isSafeInteger(minor))
    .map(([currency]) => ({ field: 'customers', message: `the amounts in ${currency} add up to too much` }));
}

/** Controls (C0, C1) and the Unicode line and paragraph separators: no field may hold one. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/** What is wrong with a row before its values are read: a control character in any field. */
function controlProblems(row: unknown): string[] {
  if (row === null || typeof row !== 'object') return [];
  return Object.entries(row).flatMap(([field, value]) => {
    const found = typeof value === 'string' ? CONTROL.exec(value)?.[0] : undefined;
    if (found === undefined) return [];
    const code = (found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    return [`${field} holds a control character (U+${code}): remove it`];
  });
}

function collect(
  rows: readonly unknown[],
  where: (i: number) => string,
  shapeProblems: (i: number) => readonly string[] = () => [],
): Customer[] {
  const issues: InputIssue[] = [];
  const customers: Customer[] = [];
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    const refused = [...shapeProblems(i), ...controlProblems(row)];
    const { customer, problems } =
      refused.length > 0 ? { customer: undefined, problems: refused } : toCustomer(row);
    for (const message of problems) issues.push({ field: where(i), message });
    if (!customer) return;
    const first = seen.get(customer.customerRef);
    if (first !== undefined)
      issues.push({
        field: where(i),
        message: `customer_ref ${customer.customerRef} repeats ${where(first)}`,
      });
    else seen.set(customer.customerRef, i);
    customers.push(customer);
  });
  issues.push(...sumProblems(customers));
  if (rows.length === 0)
    issues.push({ field: 'customers', message: 'is empty: upload at least one customer' });
  if (rows.length > MAX_CUSTOMERS)
    issues.push({ field: 'customers', message: `must hold at most ${MAX_CUSTOMERS} customers` });
  if (issues.length > 0) throw new InvalidInputError(issues);
  return customers;
}

/** CRLF, LF and CR, each the end of one line. */
const LINE_BREAK = /\r\n|\n|\r/g;

/**
 * The text of an uploaded CSV file, from its bytes (a fatal UTF-8 decoder: bytes that are not UTF-8
 * are refused, never replaced) or from text a gateway already decoded (where such bytes became
 * U+FFFD); a leading byte order mark is dropped. The issue names the file's line.
 */
export function decodeCustomerCsv(upload: Uint8Array | string): string {
  const refuse = (line: number): never => {
    throw new InvalidInputError({
      field: `line ${line}`,
      message: 'is not UTF-8: save the file as UTF-8 (CSV UTF-8) and upload it again',
    });
  };
  if (typeof upload === 'string') {
    const at = upload.indexOf('\uFFFD');
    if (at >= 0) refuse((upload.slice(0, at).match(LINE_BREAK)?.length ?? 0) + 1);
    return upload.replace(/^\uFEFF/, '');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(upload);
  } catch {
    // Which line: the first whose bytes do not decode (a line break is never inside a UTF-8 sequence).
    let start = 0;
    for (let line = 1; ; line++) {
      const end = upload.indexOf(0x0a, start);
      const bytes = upload.subarray(start, end < 0 ? upload.length : end);
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return refuse(line);
      }
      if (end < 0) return refuse(line);
      start = end + 1;
    }
  }
}

/**
 * The line of the file each record starts on, from the UTF-8 offsets where csv-parse says the
 * records end (its own line count counts a CRLF inside a quoted field twice): a record starts at
 * the previous one's end, past the empty lines it skipped. CRLF, LF and CR each end one line.
 */
function firstLines(text: string, ends: readonly number[]): number[] {
  const bytes = Buffer.from(text, 'utf8');
  const isBreak = (b: number | undefined) => b === 0x0a || b === 0x0d;
  let line = 1;
  let at = 0;
  const step = () => {
    if (bytes[at] === 0x0a || (bytes[at] === 0x0d && bytes[at + 1] !== 0x0a)) line++;
    at++;
  };
  let start = 0;
  return ends.map((end) => {
    while (at < start) step();
    while (at < bytes.length && isBreak(bytes[at])) step();
    start = end;
    return line;
  });
}

/** Parses a CSV upload; `line N` in every issue is the line of the file (the header is line 1). */
export function parseCustomersCsv(text: string): Customer[] {
  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    parsed = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: false,
      info: true,
    }) as unknown as typeof parsed;
  } catch (error) {
    throw new InvalidInputError({ field: 'body', message: `is not CSV: ${(error as Error).message}` });
  }
  const firstLine = firstLines(
    text,
    parsed.map((p) => p.info.bytes),
  );
  const [header, ...rows] = parsed.map((p) => p.record);
  const names = (header ?? []).map((h) => h.trim().toLowerCase());
  const missing = ['customer_ref'].filter((c) => !names.includes(c));
  const unknown = names.filter((n) => !(CUSTOMER_COLUMNS as readonly string[]).includes(n));
  if (missing.length > 0 || unknown.length > 0) {
    throw new InvalidInputError({
      field: `line ${firstLine[0] ?? 1}`,
      message: `the header must name the columns ${CUSTOMER_COLUMNS.join(',')}${missing.length ? `; missing ${missing.join(', ')}` : ''}${unknown.length ? `; unknown ${unknown.join(', ')}` : ''}`,
    });
  }
  const objects = rows.map((cells) => Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ''])));
  const tooMany = (i: number) => {
    const extra = (rows[i]?.length ?? 0) - names.length;
    return extra > 0
      ? [`${extra} ${extra === 1 ? 'column' : 'columns'} too many: the header names ${names.length}`]
      : [];
  };
  return collect(objects, (i) => `line ${firstLine[i + 1]}`, tooMany);
}

/** Parses a JSON upload, `{ customers: [{ customer_ref, email, … }] }` (the CSV's column names). */
export function parseCustomersJson(body: unknown): Customer[] {
  const list = (body as { customers?: unknown } | null)?.customers;
  if (!Array.isArray(list))
    throw new InvalidInputError({ field: 'customers', message: 'must be a list of customers' });
  return collect(
    list.map((row) =>
      row !== null && typeof row === 'object'
        ? Object.fromEntries(
            Object.entries(row as Record<string, unknown>).map(([k, v]) => [
              k,
              typeof v === 'number' ? String(v) : Array.isArray(v) && k === 'other_emails' ? v.join(';') : v,
            ]),
          )
        : row,
    ),
    (i) => `customers[${i}]`,
  );
}
