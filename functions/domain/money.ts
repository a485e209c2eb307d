/**
 * Money is integer minor units plus an ISO 4217 currency code (PRODUCT.md non-negotiable). The
 * exponent of each currency — how many minor units make a major one — comes from ISO 4217 itself,
 * not from the platform's locale data, so a conversion gives the same answer on every machine.
 */
import * as z from 'zod';

/** Integer minor units (cents for USD, yen for JPY, fils for BHD) of an ISO 4217 currency. */
export interface Money {
  readonly minor: number;
  /** ISO 4217 alphabetic code, upper case. */
  readonly currency: string;
}

/** Currencies whose minor unit is not 1/100 (ISO 4217 list one, "minor unit" column). */
const EXPONENT_EXCEPTIONS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(
    'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').map((c) => [c, 0]),
  ),
  ...Object.fromEntries('BHD IQD JOD KWD LYD OMR TND'.split(' ').map((c) => [c, 3])),
  CLF: 4,
  UYW: 4,
};

/** Active ISO 4217 codes of currencies (funds and precious metals excluded, but for CLF/UYI/UYW). */
const ISO_4217 = new Set(
  `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
  BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
  GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
  KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
  NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
  SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU
  UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG`
    .split(/\s+/)
    .filter(Boolean),
);

export function isCurrency(code: string): boolean {
  return ISO_4217.has(code);
}

/** Minor units per major unit, as a power of ten (EUR 2, JPY 0, BHD 3). */
export function currencyExponent(code: string): number {
  if (!isCurrency(code)) throw new RangeError(`${code} is not an ISO 4217 currency code`);
  return EXPONENT_EXCEPTIONS[code] ?? 2;
}

// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
export const currencySchema = /* @__PURE__ */ z.lazy(() =>
  z.string().refine(isCurrency, { error: 'must be an ISO 4217 currency code (upper case, e.g. EUR)' }),
);

export const moneySchema = /* @__PURE__ */ z.lazy(() =>
  z.object({
    minor: z.number().int('must be whole minor units').refine(Number.isSafeInteger, 'is too large'),
    currency: currencySchema,
  }),
);

/**
 * The most one refund or credit may carry, in minor units: what Stripe takes (8 digits), and well
 * inside what a DynamoDB number and a JavaScript number hold exactly, sums of a whole list included.
 */
export const MAX_PAYMENT_MINOR = 99_999_999;

/**
 * What is wrong with `money` as the amount of one refund or credit, or undefined: it must be
 * 1 to {@link MAX_PAYMENT_MINOR} minor units (nothing is paid by a zero).
 */
export function paymentAmountProblem(money: Money): string | undefined {
  if (money.minor >= 1 && money.minor <= MAX_PAYMENT_MINOR) return undefined;
  const bound = (minor: number) =>
    `${formatMajorAmount({ minor, currency: money.currency })} ${money.currency}`;
  return `must be between ${bound(1)} and ${bound(MAX_PAYMENT_MINOR)}`;
}

/**
 * Converts a decimal amount in the major unit ("12.34") to minor units exactly, by the currency's
 * exponent: no binary floating point is involved, and more decimals than the currency has is an
 * error rather than a rounding.
 */
export function parseMajorAmount(amount: string, currency: string): Money {
  const exponent = currencyExponent(currency);
  const m = /^(-?)(\d{1,15})(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) throw new RangeError(`"${amount}" is not a decimal amount`);
  const [, sign, whole, fraction = ''] = m;
  if (fraction.length > exponent) {
    throw new RangeError(
      `${currency} has ${exponent} decimal place${exponent === 1 ? '' : 's'}, "${amount}" has more`,
    );
  }
  const minor = Number(`${sign}${whole}${fraction.padEnd(exponent, '0')}`);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`"${amount}" is too large`);
  return { minor: minor === 0 ? 0 : minor, currency };
}

/** Minor units as a decimal string in the major unit: `{minor: 1299, currency: 'EUR'}` → "12.99". */
export function formatMajorAmount(money: Money): string {
  const exponent = currencyExponent(money.currency);
  const digits = String(Math.abs(money.minor)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(-exponent)}` : '';
  return `${money.minor < 0 ? '-' : ''}${whole}${fraction}`;
}
