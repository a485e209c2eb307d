/**
 * The console's reads against dynalite: the list a page at a time through the byCreation index
 * (open incidents first, then the others, newest first in each), the case page from one page of
 * the ledger (never the whole of it), and what the incident cost, corrections netted out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbIncidentSummaries } from '../../functions/adapters/dynamodb-console.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import type { ConsoleCursor, ConsoleQuery } from '../../functions/domain/console.ts';
import { CONSOLE_PAGE_SIZE, consoleList, isOpen } from '../../functions/domain/console.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { formatIncidentId } from '../../functions/domain/incident.ts';
import type { LedgerEntryDraft, LedgerEntryV3 } from '../../functions/domain/ledger.ts';
import type { Ledger } from '../../functions/domain/ports.ts';
import { PHASES, SEVERITIES, STATUSES } from '../../functions/domain/vocabulary.ts';
import type { ConsoleDeps } from '../../functions/use-cases/console.ts';
import { CONSOLE_LEDGER_PAGE, caseForConsole, costForConsole } from '../../functions/use-cases/console.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const NOW = new Date('2026-12-06T12:00:00Z');

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** Incident `n`: a spread of statuses and severities, detected a minute apart (some at the same minute). */
function seeded(n: number): Incident {
  const base = plainIncident(n);
  const status = STATUSES[n % STATUSES.length] as Incident['status'];
  const detectedAt = new Date(Date.UTC(2026, 10, 1) + Math.floor(n / 2) * 60_000).toISOString();
  return {
    ...base,
    id: formatIncidentId(2026, n),
    severity: SEVERITIES[n % SEVERITIES.length] as Incident['severity'],
    status,
    phase: PHASES[n % PHASES.length] as Incident['phase'],
    detectedAt,
    updatedAt: detectedAt,
    ...(status !== 'OPEN' ? { acknowledgedAt: detectedAt, commander: 'lead@example.com' } : {}),
  };
}

describe('the console list over the byCreation index', () => {
  it('pages 70 incidents open first, then the others, newest first in each, each once', async () => {
    const tables = await db.tables();
    const store = new DynamoDbOperationsStore(db.doc, tables.operations);
    const all = Array.from({ length: 70 }, (_, i) => seeded(i + 1));
    for (const incident of all) await store.createIncident(incident);
    const summaries = new DynamoDbIncidentSummaries(db.doc, tables.operations);
    const newest = (a: Incident, b: Incident) =>
      b.detectedAt.localeCompare(a.detectedAt) || b.id.localeCompare(a.id);
    const walk = async (query: Omit<ConsoleQuery, 'cursor'>) => {
      const ids: string[] = [];
      let cursor: ConsoleCursor | undefined;
      let pages = 0;
      do {
        const page = await consoleList(
          summaries,
          { ...query, ...(cursor ? { cursor } : {}) },
          NOW,
          DEFAULT_DEADLINE_POLICY,
        );
        expect(page.rows.length).toBeLessThanOrEqual(CONSOLE_PAGE_SIZE);
        ids.push(...page.rows.map((r) => r.incident.id));
        cursor = page.next;
        pages++;
      } while (cursor && pages < 10);
      return { ids, pages };
    };
    const expected = [
      ...all.filter((i) => isOpen(i.status)).sort(newest),
      ...all.filter((i) => !isOpen(i.status)).sort(newest),
    ].map((i) => i.id);
    const everything = await walk({});
    expect(everything.ids).toEqual(expected);
    expect(everything.pages).toBe(Math.ceil(70 / CONSOLE_PAGE_SIZE));

    const sev2Open = await walk({ status: 'open', severity: 'SEV2' });
    expect(sev2Open.ids).toEqual(
      all
        .filter((i) => isOpen(i.status) && i.severity === 'SEV2')
        .sort(newest)
        .map((i) => i.id),
    );
    const closed = await walk({ status: 'CLOSED' });
    expect(closed.ids).toEqual(
      all
        .filter((i) => i.status === 'CLOSED')
        .sort(newest)
        .map((i) => i.id),
    );
  });
});

const refund = (n: number, state: 'intent' | 'executed' | 'confirmed', minor = 1250): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'casebook-act',
  idempotencyKey: `refund-${n}-${state}`,
  summary: `refund P1-E${n}: ${state}`,
  detail: {},
  effectId: `P1-E${n}`,
  state,
  amount: { minor, currency: 'EUR' },
  obligation: 'tos',
});

async function caseSetup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  await store.createIncident(plainIncident(1));
  const ledger = db.ledger(tables.ledger);
  let wholeReads = 0;
  const counted: Ledger = {
    append: (id, draft) => ledger.append(id, draft),
    readHead: (id) => ledger.readHead(id),
    readPage: (id, page) => ledger.readPage(id, page),
    read: (id) => {
      wholeReads++;
      return ledger.read(id);
    },
  };
  const deps = {
    incidents: store,
    ledger: counted,
    postmortems: { getPostmortem: async () => undefined },
    approvals: { listApprovals: async () => [] },
    summaries: { pageSummaries: async () => [] },
    policy: DEFAULT_DEADLINE_POLICY,
    clock: testClock('2026-11-23T12:00:00.000Z'),
  } satisfies ConsoleDeps;
  return { deps, ledger, wholeReads: () => wholeReads };
}

describe('the console’s case page', () => {
  it('reads one page of the ledger, newest first, and the next by its cursor, never the whole ledger', async () => {
    const { deps, ledger, wholeReads } = await caseSetup();
    for (let n = 1; n <= 20; n++)
      for (const state of ['intent', 'executed', 'confirmed'] as const)
        await ledger.append('INC-2026-0001', refund(n, state));
    const first = await caseForConsole(deps, 'INC-2026-0001');
    expect(first.ledger.count).toBe(60);
    expect(first.ledger.page.map((e) => e.seq)).toEqual(
      Array.from({ length: CONSOLE_LEDGER_PAGE }, (_, i) => 60 - i),
    );
    expect(first.ledger.older).toBe(false);
    const second = await caseForConsole(deps, 'INC-2026-0001', {
      ledgerCursor: first.ledger.cursor as string,
    });
    expect(second.ledger.page[0]?.seq).toBe(60 - CONSOLE_LEDGER_PAGE);
    expect(second.ledger.older).toBe(true);
    expect(wholeReads()).toBe(0);
    await expect(caseForConsole(deps, 'INC-2026-0001', { ledgerCursor: '0' })).rejects.toMatchObject({
      issues: [{ field: 'ledger' }],
    });
  });
});

describe('what an incident cost in the console', () => {
  it('counts corrections as the P&L does: a correction replaces the amount it corrects, one without an amount voids it', async () => {
    const { deps, ledger } = await caseSetup();
    const id = 'INC-2026-0001';
    const entries: LedgerEntryV3[] = [];
    for (let n = 1; n <= 3; n++)
      entries.push((await ledger.append(id, refund(n, 'confirmed'))).entry as LedgerEntryV3);
    const [one, two] = entries as [LedgerEntryV3, LedgerEntryV3, LedgerEntryV3];
    const correction = (of: LedgerEntryV3, key: string, amount?: number): LedgerEntryDraft => ({
      log: 'effect',
      kind: 'correction',
      world: 'RML3',
      phase: 'Act',
      at: '2026-11-23T10:00:00.000Z',
      actor: 'Finance <finance@example.com>',
      idempotencyKey: key,
      summary: 'the refund was another amount',
      detail: {},
      state: 'confirmed',
      ...(amount !== undefined ? { amount: { minor: amount, currency: 'EUR' } } : {}),
      corrects: { id: of.id, seq: of.seq },
    });
    // 12.50 becomes 10.00; 12.50 is voided; the third stands: 22.50 EUR over two refunds.
    await ledger.append(id, correction(one, 'fix-1', 1000));
    await ledger.append(id, correction(two, 'void-2'));
    const cost = await costForConsole(deps, id);
    expect(cost.pnl.totals).toEqual([
      expect.objectContaining({ kind: 'refund', currency: 'EUR', obligation: 'tos', count: 2, minor: 2250 }),
    ]);
    expect(cost.corrected).toBe(2);
    expect(cost.entries).toBe(5);
  });
});
