import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { ALL_INCIDENTS, keys, parseListingKey } from '../../functions/adapters/operations-keys.ts';
import { caseFileSchema } from '../../functions/domain/case-file.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { LedgerEntryDraft, LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { makeIncidentsApiHandler } from '../../functions/incidents-api/incidents-api.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';
import { plainIncident } from '../support/incidents.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

async function setup(count: number) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  for (let n = 1; n <= count; n++) await store.createIncident(plainIncident(n));
  const ledger = db.ledger(tables.ledger);
  const handler = makeIncidentsApiHandler({
    incidents: store,
    ledger,
    postmortems: new DynamoDbWorkroom(db.doc, tables.operations),
    policy: DEFAULT_DEADLINE_POLICY,
    clock: testClock(),
  });
  const list = (query?: Record<string, string>) =>
    handler(
      apiEvent({
        method: 'GET',
        path: '/incidents',
        routeKey: 'GET /incidents',
        ...(query ? { query } : {}),
      }),
    );
  const get = (incidentId: string, query?: Record<string, string>) =>
    handler(
      apiEvent({
        method: 'GET',
        path: `/incidents/${incidentId}`,
        routeKey: 'GET /incidents/{incidentId}',
        pathParameters: { incidentId },
        ...(query ? { query } : {}),
      }),
    );
  const caseFile = (incidentId: string) =>
    handler(
      apiEvent({
        method: 'GET',
        path: `/incidents/${incidentId}/case-file.yaml`,
        routeKey: 'GET /incidents/{incidentId}/case-file.yaml',
        pathParameters: { incidentId },
      }),
    );
  return { list, get, caseFile, ledger };
}

/** An Effect Ledger entry of INC-2026-0001, as Act or a person writes one. */
const effect = (n: number, extra: Partial<LedgerEntryDraft>): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:0${n}:00.000Z`,
  actor: 'casebook (Act)',
  idempotencyKey: `k${n}`,
  summary: `entry ${n}`,
  state: 'confirmed',
  obligation: 'tos',
  detail: {},
  ...extra,
});

describe('GET /incidents', () => {
  it('lists newest first and pages with the cursor it returns', async () => {
    const { list } = await setup(3);
    const first = JSON.parse((await list({ limit: '2' })).body ?? '{}');
    expect(first.incidents.map((i: { id: string }) => i.id)).toEqual(['INC-2026-0003', 'INC-2026-0002']);
    const second = JSON.parse((await list({ limit: '2', cursor: first.cursor })).body ?? '{}');
    expect(second.incidents.map((i: { id: string }) => i.id)).toEqual(['INC-2026-0001']);
  });

  it('answers 400 naming limit or cursor when they are not what it gave out', async () => {
    const { list } = await setup(3);
    const given = JSON.parse((await list({ limit: '1' })).body ?? '{}').cursor as string;
    const key = JSON.parse(Buffer.from(given, 'base64url').toString('utf8'));
    const listed = parseListingKey(key)?.id ?? '';
    const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const long = 'x'.repeat(3000);
    for (const [query, field] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: 'lots' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      // The probe's integers: hexadecimal, a space (from %205), an exponent.
      [{ limit: '0x10' }, 'limit'],
      [{ limit: ' 5' }, 'limit'],
      [{ limit: '1e2' }, 'limit'],
      [{ limit: '+5' }, 'limit'],
      [{ limit: '05' }, 'limit'],
      [{ cursor: '' }, 'cursor'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ cursor: cursorOf({ a: 1 }) }, 'cursor'],
      // The probe's cursors: empty keys and 3,000-character keys answered 503 before.
      [{ cursor: cursorOf({ gsi1pk: '', gsi1sk: '', pk: '', sk: '' }) }, 'cursor'],
      [{ cursor: cursorOf({ gsi1pk: ALL_INCIDENTS, gsi1sk: long, pk: long, sk: long }) }, 'cursor'],
      [
        { cursor: cursorOf({ ...key, pk: keys.incidentPartition(`INC-2026-${'9'.repeat(2100)}`) }) },
        'cursor',
      ],
      [{ cursor: cursorOf({ ...key, ...keys.byCreation('2026-02-30T10:00:00.000Z', listed) }) }, 'cursor'],
      // The same key written another way is not a cursor this API gave out.
      [{ cursor: Buffer.from(JSON.stringify(key, null, 1)).toString('base64url') }, 'cursor'],
      [{ cursor: `${given}=` }, 'cursor'],
    ] as const) {
      const res = await list(query);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(JSON.parse(res.body ?? '{}').issues[0].field).toBe(field);
    }
  });
});

describe('GET /incidents/{incidentId}', () => {
  it('returns the case, and 404 for an unknown or malformed id', async () => {
    const { get } = await setup(1);
    const found = await get('INC-2026-0001');
    expect(found.statusCode).toBe(200);
    expect(JSON.parse(found.body ?? '{}')).toMatchObject({
      incident: { id: 'INC-2026-0001', status: 'OPEN', phase: 'Detect' },
      timeline: [],
      ledger: [],
      decisions: [],
      pnl: { totals: [], lines: [] },
    });
    expect((await get('INC-2026-0404')).statusCode).toBe(404);
    expect((await get('../etc/passwd')).statusCode).toBe(404);
    // The probe's id past DynamoDB's key limit answered 503 before; another spelling of 0001 is no id.
    expect((await get(`INC-2026-${'1'.repeat(2100)}`)).statusCode).toBe(404);
    expect((await get('INC-2026-00001')).statusCode).toBe(404);
  });
});

describe('the Effect Ledger of a case, a page at a time', () => {
  it('pages the ledger by seq while the P&L counts every entry, and refuses a bad page', async () => {
    const { get, ledger } = await setup(1);
    const id = 'INC-2026-0001';
    for (let n = 1; n <= 5; n++)
      await ledger.append(id, effect(n, { amount: { minor: 100, currency: 'EUR' } }));
    const seqs: number[] = [];
    let from: number | undefined;
    let pages = 0;
    do {
      const res = await get(id, { ledgerLimit: '2', ...(from ? { ledgerFrom: String(from) } : {}) });
      expect(res.statusCode).toBe(200);
      const body = JSON.parse(res.body ?? '{}');
      expect(body.ledger.length).toBeLessThanOrEqual(2);
      expect(body.ledgerCount).toBe(5);
      expect(body.pnl.totals).toEqual([expect.objectContaining({ kind: 'refund', count: 5, minor: 500 })]);
      seqs.push(...body.ledger.map((e: { seq: number }) => e.seq));
      from = body.ledgerNext;
      pages++;
    } while (from !== undefined);
    expect(pages).toBe(3);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    for (const query of [
      { ledgerLimit: '0' },
      { ledgerLimit: '2001' },
      { ledgerFrom: '0x2' },
      { ledgerFrom: '-1' },
    ] as Record<string, string>[]) {
      const res = await get(id, query);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(JSON.parse(res.body ?? '{}').issues[0].field).toBe(Object.keys(query)[0]);
    }
  });
});

describe('the P&L of a case', () => {
  it('nets corrections out: per kind, currency and line, of confirmed money', async () => {
    const { get, ledger } = await setup(1);
    const id = 'INC-2026-0001';
    const refund = await ledger.append(id, effect(1, { amount: { minor: 5000, currency: 'EUR' } }));
    await ledger.append(
      id,
      effect(2, { kind: 'credit', amount: { minor: 1000, currency: 'EUR' }, obligation: 'brand' }),
    );
    await ledger.append(id, effect(3, { kind: 'legal_fee', amount: { minor: 125_000, currency: 'EUR' } }));
    const { seq, id: refundId } = refund.entry as LedgerEntryV2;
    await ledger.append(
      id,
      effect(4, {
        kind: 'correction',
        amount: { minor: 3000, currency: 'EUR' },
        corrects: { id: refundId, seq },
      }),
    );
    const { pnl } = JSON.parse((await get(id)).body ?? '{}');
    expect(pnl).toEqual({
      totals: [
        { kind: 'refund', currency: 'EUR', obligation: 'tos', count: 1, minor: 3000, amount: '30.00' },
        { kind: 'credit', currency: 'EUR', obligation: 'brand', count: 1, minor: 1000, amount: '10.00' },
        {
          kind: 'legal_fee',
          currency: 'EUR',
          obligation: 'tos',
          count: 1,
          minor: 125_000,
          amount: '1250.00',
        },
      ],
      lines: [
        { obligation: 'brand', currency: 'EUR', minor: 1000, amount: '10.00' },
        { obligation: 'tos', currency: 'EUR', minor: 128_000, amount: '1280.00' },
      ],
    });
  });
});

describe('GET /incidents/{incidentId}/case-file.yaml', () => {
  it('answers the case file as application/yaml, valid against the seed template, and 404 for an unknown id', async () => {
    const { caseFile, ledger } = await setup(1);
    await ledger.append('INC-2026-0001', effect(1, { amount: { minor: 5000, currency: 'EUR' } }));
    const res = await caseFile('INC-2026-0001');
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toBe('application/yaml; charset=utf-8');
    const parsed = caseFileSchema.parse(parse(res.body ?? ''));
    expect(parsed).toMatchObject({
      incident_id: 'INC-2026-0001',
      status: 'ongoing',
      actions: { technical: [{ type: 'refund', world: 'RML3', count: 1 }], communication: [] },
    });
    for (const id of ['INC-2026-0404', 'INC-2026-00001', `INC-2026-${'1'.repeat(2100)}`]) {
      const missing = await caseFile(id);
      expect(missing.statusCode).toBe(404);
      expect(missing.headers?.['content-type']).toMatch(/^application\/json/);
    }
  });
});
