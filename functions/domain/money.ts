/** Money is integer minor units plus an ISO 4217 currency code (PRODUCT.md non-negotiable). */
export interface Money {
  /** Integer minor units (cents for USD, yen for JPY). */
  readonly minor: number;
  /** ISO 4217 alphabetic code, upper case. */
  readonly currency: string;
}
