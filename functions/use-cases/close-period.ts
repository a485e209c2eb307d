/**
 * Closes a month: checks it may be closed, reads its figures once, signs the record with the
 * ledger's head signer, claims `close#YYYY-MM` in the operational table (the lock: s3rver ignores
 * If-None-Match, so S3 cannot be one) and keeps the record under `closes/`. Closing twice answers the first close — and writes it again, so a
 * close whose claim won but whose write was lost is kept the second time.
 */

import type { HeadSigner } from '../domain/checkpoint.ts';
import type { LabourRate } from '../domain/labour-rates.ts';
import { periodOf } from '../domain/ledger-export.ts';
import type { CloseClaims, CloseHead, CloseStore, PeriodClose } from '../domain/period-close.ts';
import {
  CloseInputError,
  checkClosable,
  closeRates,
  closeTotals,
  makeClose,
  nextPeriod,
  previousPeriod,
  signClose,
} from '../domain/period-close.ts';
import type { Conversion, SqlRow } from '../domain/pnl-report.ts';

/** What the month's close is made of, read when it is closed. */
export interface CloseFigures {
  /** Rows of `pnlSql({groupBy: ['category', 'obligation'], from: period, to: period})`. */
  readonly rows: readonly SqlRow[];
  /** Every incident's chain head now. */
  readonly heads: Readonly<Record<string, CloseHead>>;
}

export interface ClosePeriodDeps {
  readonly claims: CloseClaims;
  readonly closes: CloseStore;
  readonly figures: (period: string) => Promise<CloseFigures>;
  readonly now: () => Date;
  readonly lagDays: number;
  readonly labourRates: readonly LabourRate[];
  /** The reporting currency and the rates into it, kept in the close as they were. */
  readonly exchangeRates?: Conversion;
  /** The ledger's head signer: only whoever holds it can make a close the verifier accepts. */
  readonly signer: HeadSigner;
}

export interface ClosedPeriod {
  readonly close: PeriodClose;
  /** False when the month was already closed: `close` is that first close. */
  readonly closedNow: boolean;
}

export async function closePeriod(deps: ClosePeriodDeps, period: string): Promise<ClosedPeriod> {
  const now = deps.now();
  // Bad input is refused before anything is read.
  checkClosable(period, now, deps.lagDays, undefined);
  const latest = await deps.claims.latest();
  checkClosable(period, now, deps.lagDays, latest);
  // Before the last close: only a month already closed may be asked for again (it answers itself);
  // any other would start a second chain the verifier could only call broken.
  if (latest && period < latest.period && !(await deps.claims.get(period)))
    throw new CloseInputError(`${period} was never closed and comes before the last close, ${latest.period}`);
  const figures = await deps.figures(period);
  const unsigned = makeClose({
    period,
    closedAt: now.toISOString(),
    totals: closeTotals(figures.rows),
    heads: figures.heads,
    labourRates: closeRates(deps.labourRates),
    exchangeRates: deps.exchangeRates ?? null,
    previous: latest && latest.period < period ? latest.hash : null,
  });
  const close = await signClose(deps.signer, unsigned);
  const claim = await deps.claims.claim(close);
  const kept = claim.won ? close : claim.close;
  await deps.closes.put(kept);
  return { close: kept, closedNow: claim.won };
}

/** What a scheduled close did: the months it closed, and why it stopped when it closed none. */
export interface DueCloses {
  readonly closed: readonly ClosedPeriod[];
  readonly skipped?: string;
}

/**
 * The scheduled close: every month from the one after the last close up to last month, in order,
 * as far as the lag allows. Run daily, it closes last month on the first day its lag has passed
 * and does nothing on the others; a month already closed is never read again.
 */
export async function closeDueMonths(deps: ClosePeriodDeps): Promise<DueCloses> {
  const last = previousPeriod(periodOf(deps.now().toISOString()));
  const latest = await deps.claims.latest();
  const closed: ClosedPeriod[] = [];
  for (let period = latest ? nextPeriod(latest.period) : last; period <= last; period = nextPeriod(period)) {
    try {
      closed.push(await closePeriod(deps, period));
    } catch (error) {
      if (!(error instanceof CloseInputError)) throw error;
      return { closed, skipped: error.message };
    }
  }
  return closed.length > 0 ? { closed } : { closed, skipped: `${last} is already closed` };
}
