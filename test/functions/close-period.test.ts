import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { ledgerFigures, makeClosePeriodHandler } from '../../functions/close-period/close-period.ts';
import { parseLabourRates } from '../../functions/domain/labour-rates.ts';
import type { LedgerExportSource } from '../../functions/domain/ledger-export.ts';
import type {
  CloseClaims,
  CloseStore,
  PeriodClose,
  StoredClose,
} from '../../functions/domain/period-close.ts';
import { CloseInputError, closeSignatureValid, closeTotals } from '../../functions/domain/period-close.ts';
import type {
  ClosedPeriod,
  CloseFigures,
  ClosePeriodDeps,
  DueCloses,
} from '../../functions/use-cases/close-period.ts';
import { closePeriod } from '../../functions/use-cases/close-period.ts';
import { casebook } from '../support/cli.ts';
import { FIXTURE_LABOUR_RATES, fixtureLedger } from '../support/finance-fixture.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());

/** The table's conditional put and the bucket, in memory: the claim is the only lock. */
function world() {
  const claimed = new Map<string, PeriodClose>();
  const kept = new Map<string, PeriodClose>();
  const claims: CloseClaims = {
    async claim(close) {
      const first = claimed.get(close.period);
      if (first) return { won: false, close: first };
      claimed.set(close.period, close);
      return { won: true };
    },
    async latest() {
      return [...claimed.values()].sort((a, b) => (a.period < b.period ? 1 : -1))[0];
    },
    async periods() {
      return [...claimed.keys()].sort();
    },
    async get(period) {
      return claimed.get(period);
    },
  };
  const closes: CloseStore = {
    async get(period) {
      return kept.get(period);
    },
    async list(): Promise<StoredClose[]> {
      return [...kept.values()].map((c) => ({ period: c.period, body: c }));
    },
    async put(close) {
      kept.set(close.period, close);
    },
  };
  let figures: CloseFigures = {
    rows: [{ category: 'refunds', obligation: null, currency: 'EUR', amount_minor: 500, entries: 1 }],
    heads: { 'inc-1': { size: 1, seq: 0, hash: 'a' } },
  };
  let now = new Date('2026-04-10T00:00:00Z');
  const deps: ClosePeriodDeps = {
    claims,
    closes,
    figures: async () => figures,
    now: () => now,
    lagDays: 5,
    labourRates: [{ role: 'SRE', rate: { minor: 12000, currency: 'EUR' } }],
    signer,
  };
  return {
    deps,
    kept,
    setFigures: (f: CloseFigures) => {
      figures = f;
    },
    setNow: (d: Date) => {
      now = d;
    },
  };
}

describe('closing a month', () => {
  it('keeps the close under its month and links the next one to it', async () => {
    const w = world();
    const feb = await closePeriod(w.deps, '2026-02');
    expect(feb.closedNow).toBe(true);
    expect(feb.close.previous).toBeNull();
    expect(feb.close.totals).toEqual([
      { category: 'refunds', obligation: null, currency: 'EUR', amountMinor: 500, entries: 1 },
    ]);
    expect(feb.close.labourRates).toEqual([{ role: 'SRE', minor: 12000, currency: 'EUR' }]);
    const mar = await closePeriod(w.deps, '2026-03');
    expect(mar.close.previous).toBe(feb.close.hash);
    expect([...w.kept.keys()]).toEqual(['2026-02', '2026-03']);
  });

  it('signs the close with the head signer and keeps the exchange rates it was given', async () => {
    const w = world();
    const rates = { currency: 'EUR', rates: { USD: '0.92', EUR: '1' } };
    const { close } = await closePeriod({ ...w.deps, exchangeRates: rates }, '2026-02');
    expect(close.exchangeRates).toEqual(rates);
    expect(closeSignatureValid(close, close.signature, pair.publicKey)).toBe(true);
    expect(w.kept.get('2026-02')?.signature).toEqual(close.signature);
    const plain = await closePeriod(world().deps, '2026-02');
    expect(plain.close.exchangeRates).toBeNull();
  });

  it('answers the first close when closed twice, whatever changed since', async () => {
    const w = world();
    const first = await closePeriod(w.deps, '2026-02');
    w.setFigures({ rows: [], heads: {} });
    w.setNow(new Date('2026-05-01T00:00:00Z'));
    const again = await closePeriod(w.deps, '2026-02');
    expect(again.closedNow).toBe(false);
    expect(again.close).toEqual(first.close);
  });

  it('refuses March before February, naming February', async () => {
    const w = world();
    await closePeriod(w.deps, '2026-01');
    await expect(closePeriod(w.deps, '2026-03')).rejects.toThrow(/close 2026-02 first/);
    await expect(closePeriod(w.deps, '2026-03')).rejects.toBeInstanceOf(CloseInputError);
  });

  it('refuses a month before the first close instead of starting a second chain', async () => {
    const w = world();
    await closePeriod(w.deps, '2026-02');
    await expect(closePeriod(w.deps, '2026-01')).rejects.toThrow(
      '2026-01 was never closed and comes before the last close, 2026-02',
    );
    expect([...w.kept.keys()]).toEqual(['2026-02']);
  });

  it('refuses a month still open for appends within the lag', async () => {
    const w = world();
    w.setNow(new Date('2026-03-03T00:00:00Z'));
    await expect(closePeriod(w.deps, '2026-02')).rejects.toThrow(/still open for appends/);
    expect(w.kept.size).toBe(0);
  });
});

describe('the close function', () => {
  it('closes last month on schedule once its lag has passed, and leaves a closed month unread', async () => {
    const w = world();
    let reads = 0;
    const deps = {
      ...w.deps,
      figures: (p: string) => {
        reads++;
        return w.deps.figures(p);
      },
    };
    const handler = makeClosePeriodHandler(deps);
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
    w.setNow(new Date('2026-04-03T02:30:00Z'));
    const early = (await handler(scheduled)) as DueCloses;
    expect(early.closed).toEqual([]);
    expect(early.skipped).toMatch(/^2026-03 is still open for appends until 2026-04-06T00:00:00.000Z/);
    w.setNow(new Date('2026-04-06T02:30:00Z'));
    const due = (await handler(scheduled)) as DueCloses;
    expect(due.closed.map((c) => [c.close.period, c.closedNow])).toEqual([['2026-03', true]]);
    expect(reads).toBe(1);
    const next = (await handler(scheduled)) as DueCloses;
    expect(next).toEqual({ closed: [], skipped: '2026-03 is already closed' });
    expect(reads).toBe(1);
  });

  it('catches up month by month after the last close', async () => {
    const w = world();
    await closePeriod(w.deps, '2026-01');
    w.setNow(new Date('2026-04-10T00:00:00Z'));
    const due = (await makeClosePeriodHandler(w.deps)({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
    })) as DueCloses;
    expect(due.closed.map((c) => c.close.period)).toEqual(['2026-02', '2026-03']);
    expect(due.closed[1]?.close.previous).toBe(due.closed[0]?.close.hash);
  });

  it('answers the CLI with the close, and bad input as a CloseInputError by name', async () => {
    const w = world();
    const handler = makeClosePeriodHandler(w.deps);
    const closed = (await handler({ period: '2026-03' })) as ClosedPeriod;
    expect(closed.closedNow).toBe(true);
    expect(((await handler({ period: '2026-03' })) as ClosedPeriod).close).toEqual(closed.close);
    await expect(handler({ period: '2026-13' })).rejects.toMatchObject({
      name: 'CloseInputError',
      message: '"2026-13" is not a month (YYYY-MM)',
    });
    await expect(handler({ period: '2026-03', sign: 'anything' })).rejects.toThrow();
  });

  it("reads the month's figures from the ledger itself, page by page, with every incident's head", async () => {
    const ledger = await fixtureLedger();
    const source: LedgerExportSource = {
      async incidentsDetectedBefore() {
        return ledger.map((l) => l.incident);
      },
      async *entryPages(id) {
        const entries = ledger.find((l) => l.incident.id === id)?.entries ?? [];
        for (let i = 0; i < entries.length; i += 3) yield entries.slice(i, i + 3);
      },
    };
    const heads = {
      async readHead(id: string) {
        const last = ledger.find((l) => l.incident.id === id)?.entries.at(-1);
        return last ? ({ size: last.seq + 1, seq: last.seq, hash: last.hash } as never) : undefined;
      },
    };
    const figures = await ledgerFigures(source, heads, parseLabourRates(FIXTURE_LABOUR_RATES), {
      now: () => new Date('2027-01-10T00:00:00Z'),
    })('2026-11');
    const usd = closeTotals(figures.rows).filter((t) => t.currency === 'USD');
    expect(usd).toEqual([
      { category: 'goodwill_credits', obligation: 'brand', currency: 'USD', amountMinor: 700, entries: 1 },
      { category: 'refunds', obligation: 'tos', currency: 'USD', amountMinor: 1999, entries: 1 },
    ]);
    expect(Object.keys(figures.heads).sort()).toEqual(ledger.map((l) => l.incident.id).sort());
  });
});

/**
 * A stand-in for Lambda's Invoke API in front of the close function's handler (over an in-memory
 * table and bucket): the CLI, in a process of its own with only what a user sets on AWS, invokes it
 * through the real `@aws-sdk/client-lambda`.
 */
async function lambdaStandIn(handler: (event: unknown) => Promise<unknown>) {
  const events: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      if (req.method !== 'POST' || decodeURIComponent(match?.[1] ?? '') !== 'casebook-close-period') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"Message":"Function not found"}');
        return;
      }
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      events.push(event);
      handler(event).then(
        (result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result)),
        (error: Error) =>
          res
            .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorType: error.name, errorMessage: error.message })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    env: {
      CASEBOOK_LEDGER_TABLE: 'casebook-ledger',
      CASEBOOK_CLOSE_FUNCTION: 'casebook-close-period',
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    },
  };
}

describe('casebook period close, refusing what cannot be closed before it reads anything', () => {
  it('answers a malformed or future month, a month within the lag and a malformed lag with one line and exit 2', async () => {
    // No stack runs and the data directory is empty: none of these gets as far as a table or a key.
    const user = { CASEBOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'casebook-close-cli-')) };
    // November ended on 2026-12-01: a lag reaching past today keeps it open for appends.
    const pastToday = Math.ceil((Date.now() - Date.parse('2026-12-01T00:00:00Z')) / 86_400_000) + 1;
    for (const [args, env, message] of [
      [['2026-13'], user, '"2026-13" is not a month (YYYY-MM)'],
      [['2099-01'], user, '2099-01 is not over yet'],
      [
        ['2026-11', '--lag-days', String(pastToday)],
        user,
        `2026-11 is still open for appends until ${new Date(Date.parse('2026-12-01T00:00:00Z') + pastToday * 86_400_000).toISOString()} (a lag of ${pastToday} days)`,
      ],
      [
        ['2026-11'],
        { ...user, CASEBOOK_CLOSE_LAG_DAYS: 'soon' },
        'CASEBOOK_CLOSE_LAG_DAYS must be a whole number of days from 0 to 366, not "soon"',
      ],
      [
        ['2026-11', '--lag-days', '-1'],
        user,
        '--lag-days must be a whole number of days from 0 to 366, not "-1"',
      ],
      [
        ['2026-11'],
        { ...user, CASEBOOK_EXCHANGE_RATES: '{"currency": "EUR"}' },
        'CASEBOOK_EXCHANGE_RATES must be JSON {"currency": "EUR", "rates": {"USD": "0.92"}}',
      ],
    ] as const) {
      const result = await casebook(['period', 'close', ...args], env);
      expect([result.code, result.stdout, result.stderr], args.join(' ')).toEqual([
        2,
        '',
        `casebook period close: ${message}\n`,
      ]);
    }
  }, 120_000);
});

describe('casebook period close on AWS', () => {
  it('invokes the close function, prints its close, and answers its refusals with one line and exit 2', async () => {
    const w = world();
    const lambda = await lambdaStandIn(makeClosePeriodHandler(w.deps));
    try {
      w.setNow(new Date('2026-04-03T00:00:00Z'));
      const early = await casebook(['period', 'close', '2026-03'], lambda.env);
      expect(early.stderr).toBe(
        'casebook period close: 2026-03 is still open for appends until 2026-04-06T00:00:00.000Z (a lag of 5 days)\n',
      );
      expect(early.code).toBe(2);

      w.setNow(new Date('2026-04-10T00:00:00Z'));
      const closed = await casebook(['period', 'close', '2026-03'], lambda.env);
      expect(closed.stderr).toBe('');
      expect(closed.code).toBe(0);
      const kept = w.kept.get('2026-03') as PeriodClose;
      expect(closed.stdout).toBe(
        `Closed 2026-03: ${kept.hash}\n  refunds            -              EUR 500 (minor units, 1 entries)\n`,
      );
      const again = await casebook(['period', 'close', '2026-03'], lambda.env);
      expect(again.stdout).toMatch(
        new RegExp(`^2026-03 was already closed at ${kept.closedAt}: ${kept.hash}\\n`),
      );

      const future = await casebook(['period', 'close', '2099-01'], lambda.env);
      expect([future.code, future.stderr]).toEqual([2, 'casebook period close: 2099-01 is not over yet\n']);
      expect(lambda.events).toEqual([
        { period: '2026-03' },
        { period: '2026-03' },
        { period: '2026-03' },
        { period: '2099-01' },
      ]);

      // Refused before anything is invoked.
      for (const [args, env, message] of [
        [['2026-13'], lambda.env, '"2026-13" is not a month (YYYY-MM)'],
        [
          ['2026-03', '--lag-days', '0'],
          lambda.env,
          "on AWS the lag is the close function's CASEBOOK_CLOSE_LAG_DAYS (CDK context casebook:closeLagDays), not --lag-days",
        ],
        [
          ['2026-03'],
          { ...lambda.env, CASEBOOK_CLOSE_FUNCTION: '' },
          "on AWS the close function closes the month: set CASEBOOK_CLOSE_FUNCTION (the stack's CloseFunctionName output) or --close-function",
        ],
      ] as const) {
        const bad = await casebook(['period', 'close', ...args], env);
        expect([bad.code, bad.stderr]).toEqual([2, `casebook period close: ${message}\n`]);
      }
      expect(lambda.events).toHaveLength(4);
    } finally {
      await lambda.close();
    }
  }, 120_000);
});
