/**
 * POST /incidents/{id}/ledger against dynalite: what people did by hand goes on the Effect Ledger
 * once per Idempotency-Key, with the customer as a pseudonym, and a refused request writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import type { LedgerEntryV3 } from '../../functions/domain/ledger.ts';
import { pseudonym, verifyChain } from '../../functions/domain/ledger.ts';
import { makeRecordLedgerEntryHandler } from '../../functions/record-ledger-entry/record-ledger-entry.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';
import { plainIncident } from '../support/incidents.ts';
import { legalFee, opsLabour } from '../support/manual-entries.ts';

const PSEUDONYM_KEY = Buffer.from('a test pseudonym key of at least thirty-two bytes');
const INC = 'INC-2026-0001';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  await store.createIncident(plainIncident(1));
  const ledger = db.ledger(tables.ledger);
  const handler = makeRecordLedgerEntryHandler({
    incidents: store,
    ledger,
    pseudonym: async (ref) => pseudonym(PSEUDONYM_KEY, ref),
    // The incident opened on 22 Nov 2026; people record what they did the day after.
    clock: testClock('2026-11-23T12:00:00.000Z'),
  });
  const post = async (
    body: unknown,
    options: {
      key?: string | null;
      incidentId?: string;
      headers?: Record<string, string>;
      principal?: string;
    } = {},
  ) => {
    const incidentId = options.incidentId ?? INC;
    const key = options.key === undefined ? 'key-1' : options.key;
    const event = apiEvent({
      method: 'POST',
      path: `/incidents/${incidentId}/ledger`,
      routeKey: 'POST /incidents/{incidentId}/ledger',
      pathParameters: { incidentId },
      headers: {
        'content-type': 'application/json',
        ...(key === null ? {} : { 'Idempotency-Key': key }),
        ...options.headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (options.principal) {
      // What API Gateway adds to a request it checked the SigV4 signature of.
      Object.assign(event.requestContext, { authorizer: { iam: { userArn: options.principal } } });
    }
    const res = await handler(event);
    return { status: res.statusCode, body: JSON.parse(res.body ?? 'null') };
  };
  const items = () => db.count(tables.ledger);
  return { post, ledger, items };
}

describe('POST /incidents/{id}/ledger', () => {
  it('appends a confirmed entry with actor, reason, evidence, money, line and product area (201)', async () => {
    const { post, ledger } = await setup();
    const res = await post({ ...legalFee, glCode: '6420' });
    expect(res.status).toBe(201);
    const entry = res.body as LedgerEntryV3;
    expect(entry).toMatchObject({
      format: 3,
      incidentId: INC,
      seq: 1,
      log: 'effect',
      kind: 'legal_fee',
      world: 'RML3',
      phase: 'Detect',
      state: 'confirmed',
      at: '2026-11-23T12:00:00.000Z',
      actor: legalFee.actor,
      amount: { minor: 125_000, currency: 'EUR' },
      obligation: 'tos',
      productArea: 'payments',
      effectiveAt: '2026-11-23T09:00:00.000Z',
      glCode: '6420',
      idempotencyKey: 'api:key-1',
      detail: { recordedBy: 'person', reason: legalFee.reason, evidence: legalFee.evidence },
    });
    expect(entry.summary).toBe(
      `Legal fee EUR 1250.00 [tos], recorded by ${legalFee.actor}: ${legalFee.reason}`,
    );
    const chain = await ledger.read(INC);
    expect(chain).toEqual([entry]);
    expect(await verifyChain(INC, await ledger.readChain(INC), db.chainKeys)).toEqual([]);
  });

  it('answers a retry with the first entry (200) and refuses the same key for another entry (409)', async () => {
    const { post, items } = await setup();
    const first = await post(legalFee);
    expect(first.status).toBe(201);
    const again = await post(legalFee);
    expect(again).toEqual({ status: 200, body: first.body });
    // The same request written another way is the same request.
    const reordered = Object.fromEntries(Object.entries(legalFee).reverse());
    expect((await post({ ...reordered, effectiveAt: '2026-11-23T10:00:00+01:00' })).status).toBe(200);
    const other = await post({ ...legalFee, amount: '1300.00' });
    expect(other.status).toBe(409);
    expect(other.body.message).toMatch(/key-1 already recorded another entry \(seq 1\)/);
    expect(await items()).toBe(1); // one chain item: no claim item beside it
    expect((await post({ ...legalFee, amount: '1300.00' }, { key: 'key-2' })).status).toBe(201);
  });

  it('names the customer by pseudonym only, and records ops labour as hours × rate', async () => {
    const { post } = await setup();
    const refund = await post(
      {
        ...legalFee,
        kind: 'refund',
        customerRef: 'cus_ada',
        providerRef: 're_admin_77',
        obligation: 'brand',
      },
      { key: 'refund-1' },
    );
    expect(refund.status).toBe(201);
    expect(refund.body.counterparty).toBe(pseudonym(PSEUDONYM_KEY, 'cus_ada'));
    expect(refund.body.providerRef).toBe('re_admin_77');
    expect(JSON.stringify(refund.body)).not.toContain('cus_ada');

    const labour = await post(opsLabour, { key: 'labour-1' });
    expect(labour.status).toBe(201);
    expect(labour.body.amount).toEqual({ minor: 61_750, currency: 'EUR' });
    expect(labour.body.detail.labour).toEqual({ hours: '6.5', rate: { minor: 9500, currency: 'EUR' } });
  });

  it('records the IAM principal API Gateway checked, when there is one', async () => {
    const { post } = await setup();
    const arn = 'arn:aws:sts::123456789012:assumed-role/Finance/grace';
    expect((await post(legalFee, { key: 'signed', principal: arn })).body.detail.principal).toBe(arn);
    expect((await post(legalFee, { key: 'local' })).body.detail).not.toHaveProperty('principal');
  });

  it('corrects an entry of the same chain, forward only; a correction of it is corrected in turn, never twice', async () => {
    const { post, ledger } = await setup();
    const fee = (await post(legalFee)).body as LedgerEntryV3;
    const fixed = await post(
      { ...legalFee, kind: 'correction', amount: '1100.00', corrects: fee.id, providerRef: 'INV-0042-C' },
      { key: 'fix-1' },
    );
    expect(fixed.status).toBe(201);
    expect(fixed.body.corrects).toEqual({ id: fee.id, seq: fee.seq });
    // A retry of the correction is the same correction, not a second one.
    expect(
      await post(
        { ...legalFee, kind: 'correction', amount: '1100.00', corrects: fee.id, providerRef: 'INV-0042-C' },
        { key: 'fix-1' },
      ),
    ).toEqual({ status: 200, body: fixed.body });
    const twice = await post({ ...legalFee, corrects: fee.id }, { key: 'fix-2' });
    expect(twice.status).toBe(409);
    expect(twice.body.message).toContain(`correct that one instead`);
    const inTurn = await post({ ...legalFee, amount: '1000.00', corrects: fixed.body.id }, { key: 'fix-3' });
    expect(inTurn.status).toBe(201);
    expect((await ledger.read(INC)).map((e) => e.seq)).toEqual([1, 2, 3]);

    for (const [corrects, field, message] of [
      [
        '01KAZ3NDEKTSV4RRFFQ69G5FAV',
        'corrects',
        "no entry 01KAZ3NDEKTSV4RRFFQ69G5FAV in this incident's ledger",
      ],
    ] as const) {
      const res = await post({ ...legalFee, corrects }, { key: `bad-${corrects}` });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([{ field, message }]);
    }
    const yen = await post(
      { ...legalFee, amount: '100', currency: 'JPY', corrects: inTurn.body.id },
      { key: 'yen' },
    );
    expect(yen.body.issues).toEqual([
      { field: 'currency', message: 'must be EUR, the currency of the entry it corrects' },
    ]);
    expect((await ledger.read(INC)).length).toBe(3);
  });

  it('refuses an entry that corrects another incident’s entry or a decision', async () => {
    const { post, ledger } = await setup();
    const other = 'INC-2026-0002';
    const elsewhere = await ledger.append(other, {
      log: 'effect',
      kind: 'refund',
      world: 'RML3',
      phase: 'Act',
      at: '2026-11-22T10:00:00.000Z',
      actor: 'test',
      idempotencyKey: 'x',
      summary: 'refund elsewhere',
      detail: {},
    });
    const decision = await ledger.append(INC, {
      log: 'decision',
      kind: 'approval',
      world: 'RML3',
      phase: 'Decide',
      at: '2026-11-22T10:00:00.000Z',
      actor: 'Legal <legal@corp.example>',
      idempotencyKey: 'approval:1:legal',
      summary: 'Legal approved plan v1',
      detail: {},
    });
    for (const target of [elsewhere.entry, decision.entry] as LedgerEntryV3[]) {
      const res = await post({ ...legalFee, corrects: target.id }, { key: `c-${target.id}` });
      expect(res.status).toBe(400);
      expect(res.body.issues[0].field).toBe('corrects');
    }
  });

  it('answers 400 naming each bad field and the missing key, and writes nothing', async () => {
    const { post, items } = await setup();
    const res = await post({ ...legalFee, amount: '12.345', obligation: 'maybe' }, { key: null });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      {
        field: 'Idempotency-Key',
        message: 'is required: a key of your own per entry, sent again unchanged when you retry',
      },
      {
        field: 'obligation',
        message: "must be 'tos' (the contractual minimum) or 'brand' (chosen beyond it)",
      },
    ]);
    const bad = [
      [await post(legalFee, { key: 'has space' }), 'Idempotency-Key'],
      [await post(legalFee, { key: 'k'.repeat(256) }), 'Idempotency-Key'],
      [await post('{"kind":', { key: 'k' }), 'body'],
      [await post('', { key: 'k' }), 'body'],
      [await post(legalFee, { key: 'k', headers: { 'content-type': 'text/plain' } }), 'content-type'],
      [await post({ ...legalFee, amount: '12.345' }), 'amount'],
      [await post({ ...legalFee, effectiveAt: '2026-12-01T00:00:00Z' }), 'effectiveAt'],
    ] as const;
    for (const [answer, field] of bad) {
      expect(answer.status).toBe(400);
      expect(answer.body.issues.map((i: { field: string }) => i.field)).toContain(field);
    }
    expect(await items()).toBe(0);
  });

  it('answers 404 for an unknown or malformed incident, and writes nothing', async () => {
    const { post, items } = await setup();
    for (const incidentId of [
      'INC-2026-0404',
      'INC-2026-00001',
      '../etc/passwd',
      `INC-2026-${'1'.repeat(2100)}`,
    ]) {
      expect((await post(legalFee, { incidentId })).status).toBe(404);
    }
    expect(await items()).toBe(0);
  });
});
