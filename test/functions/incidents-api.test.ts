import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { makeIncidentsApiHandler } from '../../functions/incidents-api/incidents-api.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
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
  const handler = makeIncidentsApiHandler({
    incidents: store,
    ledger: db.ledger(tables.ledger),
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
  const get = (incidentId: string) =>
    handler(
      apiEvent({
        method: 'GET',
        path: `/incidents/${incidentId}`,
        routeKey: 'GET /incidents/{incidentId}',
        pathParameters: { incidentId },
      }),
    );
  return { list, get };
}

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
      [{ cursor: cursorOf({ gsi1pk: 'INCIDENTS', gsi1sk: long, pk: long, sk: long }) }, 'cursor'],
      [{ cursor: cursorOf({ ...key, pk: `INCIDENT#INC-2026-${'9'.repeat(2100)}` }) }, 'cursor'],
      [{ cursor: cursorOf({ ...key, gsi1sk: `2026-02-30T10:00:00.000Z#${key.pk.slice(9)}` }) }, 'cursor'],
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
    });
    expect((await get('INC-2026-0404')).statusCode).toBe(404);
    expect((await get('../etc/passwd')).statusCode).toBe(404);
    // The probe's id past DynamoDB's key limit answered 503 before; another spelling of 0001 is no id.
    expect((await get(`INC-2026-${'1'.repeat(2100)}`)).statusCode).toBe(404);
    expect((await get('INC-2026-00001')).statusCode).toBe(404);
  });
});
