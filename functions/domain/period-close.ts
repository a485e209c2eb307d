/**
 * A month closed for good: its P&L totals as they stood (from `pnlSql` grouped by category and
 * obligation), every incident's chain head at that moment, the labour and exchange rates that
 * priced it, and the previous close's hash — hashed over its canonical (RFC 8785) JSON, so the
 * closes form a chain of their own — and that hash signed with the ledger's head signing key, so
 * whoever can write the bucket still cannot make a close the verifier accepts: a chain of hashes
 * alone could be recomputed end to end by anyone. A closed month's report reads this record,
 * never the ledger again, so later entries, corrections and rate changes cannot move it.
 */
import type { KeyObject } from 'node:crypto';
import { verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { HeadSigner } from './checkpoint.ts';
import { keyIdOf } from './checkpoint.ts';
import { sha256Hex } from './json.ts';
import type { LabourRate } from './labour-rates.ts';
import type { Period } from './ledger-export.ts';
import { isPeriod, periodBounds } from './ledger-export.ts';
import type { Conversion, SqlRow } from './pnl-report.ts';

export const CLOSE_SCHEMA = 'casebook/close/v1';

/** Where closes live in the anchors bucket (Object Lock keeps them). */
export const CLOSE_PREFIX = 'closes/';

export function closeObjectKey(period: Period): string {
  return `${CLOSE_PREFIX}${period}.json`;
}

/** The operational table's key that claims a month's close: one conditional put wins. */
export function closeClaimKey(period: Period): string {
  return `close#${period}`;
}

/** One line of a closed month: a category's sum in one currency for one obligation. */
export interface CloseTotal {
  readonly category: string;
  readonly obligation: string | null;
  readonly currency: string;
  readonly amountMinor: number;
  readonly entries: number;
}

/** An incident's chain head when the month closed. */
export interface CloseHead {
  readonly size: number;
  readonly seq: number;
  readonly hash: string;
}

export interface CloseRate {
  readonly role: string;
  readonly minor: number;
  readonly currency: string;
}

/** What a close says, before its hash. */
export interface CloseBody {
  readonly schema: typeof CLOSE_SCHEMA;
  readonly period: Period;
  readonly closedAt: string;
  readonly totals: readonly CloseTotal[];
  /** Incident id → head; every incident with entries at close. */
  readonly heads: Readonly<Record<string, CloseHead>>;
  readonly labourRates: readonly CloseRate[];
  /** The reporting currency and its rates, when the close converted; null otherwise. */
  readonly exchangeRates: Conversion | null;
  /** The previous close's hash; null only for the first close. */
  readonly previous: string | null;
}

/** The head signing key's signature over {@link closeSignedText}. */
export interface CloseSignature {
  /** The signing key's id: the first four bytes of SHA-256 over its DER SPKI, hex. */
  readonly keyId: string;
  /** DER ECDSA P-256 signature (SHA-256), base64. */
  readonly value: string;
}

/** A close before it is signed. */
export interface UnsignedClose extends CloseBody {
  readonly hash: string;
}

export interface PeriodClose extends UnsignedClose {
  readonly signature: CloseSignature;
}

/** A close that cannot be made as asked: the CLI prints it on one line and exits 2. */
export class CloseInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloseInputError';
  }
}

/** SHA-256 of the body's canonical JSON: what the next close and the verifier name it by. */
export function closeHash(body: CloseBody): string {
  const { schema, period, closedAt, totals, heads, labourRates, exchangeRates, previous } = body;
  return sha256Hex(
    canonicalize({ schema, period, closedAt, totals, heads, labourRates, exchangeRates, previous }) ?? '',
  );
}

/** Totals from `pnlSql({groupBy: ['category', 'obligation']})`'s rows, in a stable order. */
export function closeTotals(rows: readonly SqlRow[]): CloseTotal[] {
  const totals = rows.map((r): CloseTotal => {
    const amountMinor = Number(r.amount_minor);
    const entries = Number(r.entries);
    if (typeof r.category !== 'string' || typeof r.currency !== 'string') {
      throw new TypeError('a P&L row has no category or currency');
    }
    if (!Number.isSafeInteger(amountMinor) || !Number.isSafeInteger(entries)) {
      throw new TypeError(
        `a P&L row's amount or entries is not an integer (${r.amount_minor}, ${r.entries})`,
      );
    }
    const obligation = typeof r.obligation === 'string' ? r.obligation : null;
    return { category: r.category, obligation, currency: r.currency, amountMinor, entries };
  });
  const key = (t: CloseTotal) => `${t.category}\u0000${t.obligation ?? ''}\u0000${t.currency}`;
  return totals.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function closeRates(rates: readonly LabourRate[]): CloseRate[] {
  return rates
    .map((r) => ({ role: r.role, minor: r.rate.minor, currency: r.rate.currency }))
    .sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

export function nextPeriod(period: Period): Period {
  return periodBounds(period).end.slice(0, 7);
}

/** The month before `period`. */
export function previousPeriod(period: Period): Period {
  const start = Date.parse(periodBounds(period).start);
  return new Date(start - 1).toISOString().slice(0, 7);
}

/**
 * Refuses what cannot be closed: not a month, a month not yet over, or one whose lag has not
 * passed (entries may still be appended to it), or a month that does not follow the last close.
 */
export function checkClosable(
  period: string,
  now: Date,
  lagDays: number,
  previous: Pick<PeriodClose, 'period'> | undefined,
): void {
  if (!isPeriod(period)) throw new CloseInputError(`"${period}" is not a month (YYYY-MM)`);
  const end = Date.parse(periodBounds(period).end);
  if (end > now.getTime()) throw new CloseInputError(`${period} is not over yet`);
  const closable = end + lagDays * 86_400_000;
  if (closable > now.getTime()) {
    throw new CloseInputError(
      `${period} is still open for appends until ${new Date(closable).toISOString()} (a lag of ${lagDays} days)`,
    );
  }
  if (previous && period <= previous.period) return; // already closed: the claim answers it
  if (previous && nextPeriod(previous.period) !== period) {
    throw new CloseInputError(
      `close ${nextPeriod(previous.period)} first: closes are consecutive and the last one is ${previous.period}`,
    );
  }
}

export function makeClose(body: Omit<CloseBody, 'schema'>): UnsignedClose {
  const full: CloseBody = { schema: CLOSE_SCHEMA, ...body };
  return { ...full, hash: closeHash(full) };
}

/**
 * The bytes a close's signature covers: its schema, month and hash, one a line. Short, so KMS can
 * sign them raw (it signs at most 4 KiB), and naming what they are, so a close's signature can
 * never pass for a tree head's (a checkpoint's first line is an origin, never this schema).
 */
export function closeSignedText(close: Pick<UnsignedClose, 'period' | 'hash'>): string {
  return `${CLOSE_SCHEMA}\n${close.period}\n${close.hash}\n`;
}

/** Signs a close with the ledger's head signer (the local key file, or KMS on AWS). */
export async function signClose(signer: HeadSigner, close: UnsignedClose): Promise<PeriodClose> {
  const [signature, spki] = await Promise.all([
    signer.sign(Buffer.from(closeSignedText(close), 'utf8')),
    signer.publicKey(),
  ]);
  return { ...close, signature: { keyId: keyIdOf(spki), value: signature.toString('base64') } };
}

/** Whether `close` carries the key's signature over its own month and hash. */
export function closeSignatureValid(
  close: Pick<PeriodClose, 'period' | 'hash'>,
  signature: unknown,
  publicKey: KeyObject,
): boolean {
  if (signature === null || typeof signature !== 'object') return false;
  const { keyId, value } = signature as Partial<CloseSignature>;
  if (typeof keyId !== 'string' || typeof value !== 'string') return false;
  if (keyId !== keyIdOf(publicKey.export({ format: 'der', type: 'spki' }))) return false;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0) return false;
  try {
    return verify(
      'sha256',
      Buffer.from(closeSignedText(close), 'utf8'),
      { key: publicKey, dsaEncoding: 'der' },
      bytes,
    );
  } catch {
    return false;
  }
}

/** What the verifier found wrong with the chain of closes, one per finding. */
export interface CloseProblem {
  readonly period: Period;
  readonly kind:
    | 'gap'
    | 'deleted'
    | 'edited'
    | 'unsigned'
    | 'bad-signature'
    | 'broken-link'
    | 'head-mismatch'
    | 'unreadable';
  readonly message: string;
}

/** The ledger as it is now, as far as the verifier needs it. */
export interface LedgerNow {
  /** The hash of an incident's entry at `seq`, or undefined when the ledger has no such entry. */
  hashAt(incidentId: string, seq: number): string | undefined;
}

export interface StoredClose {
  readonly period: Period;
  /** The object's body as parsed JSON; whatever an attacker left there. */
  readonly body: unknown;
}

function asClose(body: unknown): PeriodClose | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const c = body as Partial<PeriodClose>;
  if (c.schema !== CLOSE_SCHEMA || typeof c.hash !== 'string' || typeof c.period !== 'string')
    return undefined;
  if (!Array.isArray(c.totals) || c.heads === null || typeof c.heads !== 'object') return undefined;
  return c as PeriodClose;
}

/**
 * Walks the closes in month order: each must hash to what it says, carry the signing key's
 * signature over that hash (when the key is known), name the one before it, follow it without a
 * gap, and its heads must still be in the ledger. `claimed` are the months the operational table
 * says were closed: a claimed month with no object is a deleted close, even the last one, which no
 * later link would reveal.
 */
export function verifyCloses(
  stored: readonly StoredClose[],
  ledger: LedgerNow,
  claimed: readonly Period[] = [],
  publicKey?: KeyObject,
): CloseProblem[] {
  const problems: CloseProblem[] = [];
  const byPeriod = new Map(stored.map((s) => [s.period, s]));
  const periods = [...new Set([...byPeriod.keys(), ...claimed])].filter(isPeriod).sort();
  if (periods.length === 0) return problems;
  const first = periods[0] as Period;
  const last = periods[periods.length - 1] as Period;
  const claimedSet = new Set(claimed);
  let previousHash: string | null | undefined; // undefined: the link cannot be checked
  for (let p = first; p <= last; p = nextPeriod(p)) {
    const s = byPeriod.get(p);
    if (!s) {
      problems.push(
        claimedSet.has(p)
          ? { period: p, kind: 'deleted', message: `the close of ${p} was claimed but its record is gone` }
          : { period: p, kind: 'gap', message: `no close for ${p} between ${first} and ${last}` },
      );
      previousHash = undefined;
      continue;
    }
    const close = asClose(s.body);
    if (!close) {
      problems.push({ period: p, kind: 'unreadable', message: `the close of ${p} is not a close record` });
      previousHash = undefined;
      continue;
    }
    const actual = closeHash(close);
    if (actual !== close.hash || close.period !== p) {
      problems.push({
        period: p,
        kind: 'edited',
        message: `the close of ${p} was edited: it hashes to ${actual.slice(0, 12)}…, not ${close.hash.slice(0, 12)}…`,
      });
    }
    const signature = (s.body as { signature?: unknown }).signature;
    if (signature === undefined) {
      problems.push({ period: p, kind: 'unsigned', message: `the close of ${p} carries no signature` });
    } else if (publicKey && !closeSignatureValid({ period: p, hash: close.hash }, signature, publicKey)) {
      problems.push({
        period: p,
        kind: 'bad-signature',
        message: `the close of ${p} is not signed by the ledger signing key: someone wrote it without the key`,
      });
    }
    const expected = p === first ? null : previousHash;
    if (expected !== undefined && close.previous !== expected) {
      problems.push({
        period: p,
        kind: 'broken-link',
        message: `the close of ${p} names ${close.previous ?? 'no'} previous close, not ${expected ?? 'none'}`,
      });
    }
    for (const [incidentId, head] of Object.entries(close.heads)) {
      const now = ledger.hashAt(incidentId, head.seq);
      if (now !== head.hash) {
        problems.push({
          period: p,
          kind: 'head-mismatch',
          message:
            now === undefined
              ? `incident ${incidentId} no longer has entry ${head.seq} that the close of ${p} sealed`
              : `incident ${incidentId}'s entry ${head.seq} no longer hashes as the close of ${p} sealed it`,
        });
      }
    }
    previousHash = actual;
  }
  return problems;
}

/** Closes as the anchors bucket keeps them. */
export interface CloseStore {
  get(period: Period): Promise<PeriodClose | undefined>;
  /** Every close kept, in month order, as stored (the verifier judges them). */
  list(): Promise<StoredClose[]>;
  put(close: PeriodClose): Promise<void>;
}

/** The claims of the operational table: one conditional put of `close#YYYY-MM` per month. */
export interface CloseClaims {
  /** Claims the month for `close`; when already claimed, answers the close that claimed it. */
  claim(
    close: PeriodClose,
  ): Promise<{ readonly won: true } | { readonly won: false; readonly close: PeriodClose }>;
  /** The latest claimed close, or undefined before the first. */
  latest(): Promise<PeriodClose | undefined>;
  /** Every claimed month, in order. */
  periods(): Promise<Period[]>;
  /** The close that claimed `period`, or undefined. */
  get(period: Period): Promise<PeriodClose | undefined>;
}
