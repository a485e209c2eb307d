/**
 * Closes a month: checks it may be closed, reads its figures once, claims `close#YYYY-MM` in the
 * operational table (the lock: s3rver ignores If-None-Match, so S3 cannot be one) and keeps the
 * record under `closes/`. Closing twice answers the first close — and writes it again, so a
 * close whose claim won but whose write was lost is kept the second time.
 */

import type { LabourRate } from '../domain/labour-rates.ts';
import type { CloseClaims, CloseHead, CloseStore, PeriodClose } from '../domain/period-close.ts';
import {
  CloseInputError,
  checkClosable,
  closeRates,
  closeTotals,
  makeClose,
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
  readonly exchangeRates?: Conversion;
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
  const close = makeClose({
    period,
    closedAt: now.toISOString(),
    totals: closeTotals(figures.rows),
    heads: figures.heads,
    labourRates: closeRates(deps.labourRates),
    exchangeRates: deps.exchangeRates ?? null,
    previous: latest && latest.period < period ? latest.hash : null,
  });
  const claim = await deps.claims.claim(close);
  const kept = claim.won ? close : claim.close;
  await deps.closes.put(kept);
  return { close: kept, closedNow: claim.won };
}
