/**
 * The operational store against dynalite: an incident changes field by field and no writer
 * silently undoes another's change; items are laid out as `operations-keys.ts` says and read
 * back through their schemas, the task token only through `getTaskToken`.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { keys } from '../../functions/adapters/operations-keys.ts';
import type { Approval } from '../../functions/domain/approval.ts';
import { ConflictError } from '../../functions/domain/errors.ts';
import { LIMITS } from '../../functions/domain/limits.ts';
import { versionIdOf } from '../../functions/domain/plan.ts';
import type { CorrelationSignal } from '../../functions/domain/ports.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';
import { countedDocumentClient } from '../support/webhooks.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const incident = plainIncident(1);
const halted = { reason: 'failed' as const, at: '2026-11-22T10:00:00.000Z', error: 'States.Timeout' };

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  await store.createIncident(incident);
  return { store, tables };
}

/** A client that lets `meanwhile` write just before the first incident update it sends goes out. */
function writeSlipsIn(meanwhile: () => Promise<unknown>): DynamoDBDocumentClient {
  let pending = true;
  const send = async (command: unknown) => {
    if (pending && command instanceof UpdateCommand) {
      pending = false;
      await meanwhile();
    }
    return db.doc.send(command as UpdateCommand);
  };
  return { send } as unknown as DynamoDBDocumentClient;
}

describe('an incident changed by two writers, each from its own read', () => {
  it('keeps both changes when they touch different fields', async () => {
    const { store } = await setup();
    const [lifecycle, responder] = [
      await store.getIncident(incident.id),
      await store.getIncident(incident.id),
    ];
    if (!lifecycle || !responder) throw new Error('not created');

    await store.updateIncident(lifecycle, { halted, updatedAt: '2026-11-22T10:00:00.000Z' });
    await store.updateIncident(responder, {
      executionName: `${incident.id}-r2`,
      updatedAt: '2026-11-22T10:00:01.000Z',
    });

    expect(await store.getIncident(incident.id)).toMatchObject({
      halted,
      executionName: `${incident.id}-r2`,
      updatedAt: '2026-11-22T10:00:01.000Z',
    });
  });

  it('refuses the second when both change the same field, keeping the first', async () => {
    const { store } = await setup();
    const [first, second] = [await store.getIncident(incident.id), await store.getIncident(incident.id)];
    if (!first || !second) throw new Error('not created');

    await store.updateIncident(first, { status: 'CLOSED', closedAt: '2026-11-22T12:00:00.000Z' });
    await expect(store.updateIncident(second, { status: 'INVESTIGATING', phase: 'Contain' })).rejects.toThrow(
      ConflictError,
    );

    const stored = await store.getIncident(incident.id);
    expect(stored).toMatchObject({ status: 'CLOSED', closedAt: '2026-11-22T12:00:00.000Z', phase: 'Detect' });
  });

  it('checks again when the other write lands between its read and its write', async () => {
    const { store, tables } = await setup();
    const read = await store.getIncident(incident.id);
    if (!read) throw new Error('not created');
    const racing = new DynamoDbOperationsStore(
      writeSlipsIn(() => store.updateIncident(read, { halted })),
      tables.operations,
    );

    await racing.updateIncident(read, { executionName: `${incident.id}-r2` });

    expect(await store.getIncident(incident.id)).toMatchObject({
      halted,
      executionName: `${incident.id}-r2`,
    });
  });

  it('refuses the change when the write that lands in between set the same field', async () => {
    const { store, tables } = await setup();
    const read = await store.getIncident(incident.id);
    if (!read) throw new Error('not created');
    const racing = new DynamoDbOperationsStore(
      writeSlipsIn(() => store.updateIncident(read, { decideRound: 2 })),
      tables.operations,
    );

    await expect(racing.updateIncident(read, { decideRound: 1 })).rejects.toThrow(ConflictError);
    expect((await store.getIncident(incident.id))?.decideRound).toBe(2);
  });

  it('lets five writers who read the same incident each change their own field at once', async () => {
    const { store } = await setup();
    const read = await store.getIncident(incident.id);
    if (!read) throw new Error('not created');
    const changes = [
      { executionName: `${incident.id}-r2` },
      { customerList: { version: 1, count: 3 } },
      { decideEntry: `${incident.id}-r2@t` },
      { customerSummary: 'Three customers were charged twice' },
      { productArea: 'billing' },
    ];

    await Promise.all(changes.map((change) => store.updateIncident(read, change)));

    expect(await store.getIncident(incident.id)).toMatchObject(Object.assign({}, ...changes));
  });

  it('takes a change already made (a retried step) as done, not as a conflict', async () => {
    const { store } = await setup();
    const read = await store.getIncident(incident.id);
    if (!read) throw new Error('not created');
    const change = { phase: 'Contain' as const, status: 'INVESTIGATING' as const };

    await store.updateIncident(read, change);
    const again = await store.updateIncident(read, change);

    expect(again).toMatchObject(change);
    expect(await store.getIncident(incident.id)).toMatchObject(change);
  });

  it('removes a field set to undefined, and returns the incident as its writer now knows it', async () => {
    const { store } = await setup();
    const read = await store.getIncident(incident.id);
    if (!read) throw new Error('not created');
    const stopped = await store.updateIncident(read, { halted });

    const resumed = await store.updateIncident(stopped, { halted: undefined, phase: 'Contain' });

    expect(resumed).not.toHaveProperty('halted');
    expect(resumed).toEqual({ ...read, phase: 'Contain' });
    expect(await store.getIncident(incident.id)).toEqual(resumed);
  });

  it('answers a change to an incident that does not exist with IncidentNotFound', async () => {
    const { store } = await setup();
    await expect(store.updateIncident(plainIncident(2), { phase: 'Contain' })).rejects.toMatchObject({
      name: 'Casebook.IncidentNotFound',
    });
  });
});

describe('items of the operational table', () => {
  const approval: Approval = {
    incidentId: incident.id,
    round: 1,
    role: 'legal',
    approverEmail: 'legal@example.com',
    approverName: 'Lee Legal',
    status: 'PENDING',
    requestedAt: '2026-11-22T10:00:00.000Z',
    planHash: 'a'.repeat(64),
    planVersion: 1,
    plan: { version: 1, summary: 'Tell them', effectCount: 0, totals: [] },
    policyVersion: '0123456789abcdef',
    linkSecretHash: 'b'.repeat(64),
  };

  it('are keyed as operations-keys builds them', async () => {
    const { store, tables } = await setup();
    await store.addTimelineEvent(incident.id, {
      key: 'detection',
      at: incident.detectedAt,
      world: 'RML2',
      type: 'detection',
      phase: 'Detect',
      summary: 'Opened',
    });
    await store.createApproval(approval);
    await store.claimCorrelation('k1', incident.id, undefined, ['f@1']);
    await store.recordIncidentNumber(2026, 1);

    const out = await db.raw.send(new ScanCommand({ TableName: tables.operations }));
    const stored = (out.Items ?? []).map((i) => ({ pk: i.pk?.S, sk: i.sk?.S }));
    expect(stored).toHaveLength(5);
    expect(stored).toEqual(
      expect.arrayContaining([
        keys.incident(incident.id),
        keys.event(incident.id, 'detection'),
        keys.approval(incident.id, 1, 'legal'),
        keys.correlation('k1'),
        keys.counter(2026),
      ]),
    );
  });

  it('key customers and effects by the version id the incident names; older ones by their padded number', () => {
    const id = 'INC-2026-0001';
    const versionId = '3-01JDZ7Q3K9V6N2M8X4C5B0T1RA';
    expect(keys.customer(id, versionId, 'cus_ada').sk).toBe(`CUSTOMER#${versionId}#cus_ada`);
    expect(keys.effect(id, versionId, 'P3-E12').sk).toBe(`EFFECT#${versionId}#000012`);
    // Stored before version ids: the incident names only the number, and the keys are the old ones.
    expect(keys.customer(id, versionIdOf({ version: 3 }), 'cus_ada').sk).toBe('CUSTOMER#0003#cus_ada');
    expect(keys.effect(id, versionIdOf({ version: 2 }), 'P2-E5').sk).toBe('EFFECT#0002#000005');
    // An effect is read only under its own plan version.
    expect(() => keys.effect(id, versionId, 'P2-E12')).toThrow(/not of plan version/);
    expect(() => keys.customerPrefix('3-#')).toThrow(/Not a version id/);
  });

  it('read an approval back as it was written, the first one kept when it is created again', async () => {
    const { store } = await setup();
    const created = await store.createApproval(approval);
    const again = await store.createApproval({ ...approval, linkSecretHash: 'c'.repeat(64) });
    expect([created.created, again.created]).toEqual([true, false]);
    for (const read of [
      created.approval,
      again.approval,
      await store.getApproval(approval),
      ...(await store.listApprovals(incident.id, 1)),
    ]) {
      expect(read).toEqual(approval);
    }
  });

  it('are refused, not passed on, when they do not hold what their type says', async () => {
    const { store, tables } = await setup();
    await db.doc.send(
      new PutCommand({
        TableName: tables.operations,
        Item: { ...keys.incident('INC-2026-0002'), ...plainIncident(2), status: 'SNOOZED' },
      }),
    );
    await expect(store.getIncident('INC-2026-0002')).rejects.toThrow(/status/);
  });

  it('keep the incident number counter at the highest number recorded', async () => {
    const { store } = await setup();
    await store.recordIncidentNumber(2026, 3);
    await store.recordIncidentNumber(2026, 2);
    expect(await store.lastIncidentNumber(2026)).toBe(3);
    expect(await store.lastIncidentNumber(2025)).toBe(0);
  });
});

describe('a correlation key claimed twice', () => {
  it('refuses the second claim and names the holder from the refused write alone', async () => {
    const tables = await db.tables();
    const { doc, sent } = countedDocumentClient(db.endpoint);
    const store = new DynamoDbOperationsStore(doc, tables.operations);
    expect(await store.claimCorrelation('k1', 'INC-2026-0001', undefined, ['f@1'])).toEqual({
      claimed: true,
    });
    sent.length = 0;
    expect(await store.claimCorrelation('k1', 'INC-2026-0002', undefined, ['f@1'])).toEqual({
      claimed: false,
      incidentId: 'INC-2026-0001',
    });
    expect(sent).toEqual(['PutItemCommand']);
    // Replacing a holder it no longer has is refused the same way.
    sent.length = 0;
    expect(await store.claimCorrelation('k1', 'INC-2026-0003', 'INC-2026-0009', ['f@1'])).toEqual({
      claimed: false,
      incidentId: 'INC-2026-0001',
    });
    expect(sent).toEqual(['PutItemCommand']);
    expect((await store.findCorrelation('k1'))?.incidentId).toBe('INC-2026-0001');
  });
});

describe('a signal noted on its correlation key', () => {
  const signal = (
    occurrences: readonly string[],
    extra: Partial<CorrelationSignal> = {},
  ): CorrelationSignal => ({
    correlationKey: 'alertmanager:storm',
    occurrences,
    resolved: [],
    status: 'firing',
    at: '2026-11-22T10:00:00.000Z',
    ...extra,
  });
  const repeats = async (store: DynamoDbOperationsStore, key = 'alertmanager:storm') =>
    (await store.findCorrelation(key))?.repeats;

  it('claims a free key for the proposed incident, then counts each repeat on it and answers what it held', async () => {
    const { store } = await setup();
    expect(await store.noteSignal(signal([], { correlationKey: 'alertmanager:other' }))).toMatchObject({
      refused: true,
    });
    expect(await store.findCorrelation('alertmanager:other')).toBeUndefined();

    expect(await store.noteSignal(signal(['a@1'], { proposed: 'INC-2026-0007' }))).toEqual({ claimed: true });
    const again = await store.noteSignal(signal(['a@2'], { proposed: 'INC-2026-0008' }));
    expect(again).toMatchObject({
      claimed: false,
      before: { incidentId: 'INC-2026-0007', occurrences: ['a@1'] },
    });
    expect(await store.noteSignal(signal(['a@2']))).toMatchObject({ claimed: false, before: { repeats: 2 } });
    expect(await store.findCorrelation('alertmanager:storm')).toMatchObject({
      incidentId: 'INC-2026-0007',
      open: true,
      repeats: 3,
    });
  });

  it('notes nothing on a key whose incident ended, with or without a proposal', async () => {
    const { store } = await setup();
    await store.noteSignal(signal(['a@1'], { proposed: 'INC-2026-0007' }));
    await store.markCorrelation('alertmanager:storm', 'INC-2026-0007', 'ended');
    expect(await store.noteSignal(signal(['a@1']))).toMatchObject({ refused: true });
    expect(await store.noteSignal(signal(['a@1'], { proposed: 'INC-2026-0008' }))).toMatchObject({
      refused: true,
    });
    expect(await store.findCorrelation('alertmanager:storm')).toMatchObject({
      incidentId: 'INC-2026-0007',
      open: false,
      repeats: 1,
    });
  });

  it('notes nothing on a key that remembers all the occurrences it may, and notes on one that remembers one fewer or none', async () => {
    const { store, tables } = await setup();
    const remembering = async (key: string, count: number) => {
      await store.noteSignal(signal([], { correlationKey: key, proposed: 'INC-2026-0007' }));
      if (count === 0) return;
      await db.doc.send(
        new UpdateCommand({
          TableName: tables.operations,
          Key: keys.correlation(key),
          UpdateExpression: 'ADD occurrences :all',
          ExpressionAttributeValues: { ':all': new Set(Array.from({ length: count }, (_, i) => `o@${i}`)) },
        }),
      );
    };
    await remembering('alertmanager:full', LIMITS.occurrencesKept);
    await remembering('alertmanager:almost', LIMITS.occurrencesKept - 1);
    await remembering('alertmanager:none', 0);
    for (const extra of [{}, { proposed: 'INC-2026-0008' }]) {
      expect(
        await store.noteSignal(signal(['n@1'], { correlationKey: 'alertmanager:full', ...extra })),
      ).toMatchObject({ refused: true });
      expect(
        await store.noteSignal(signal([], { correlationKey: 'alertmanager:almost', ...extra })),
      ).toMatchObject({ claimed: false });
      expect(
        await store.noteSignal(signal([], { correlationKey: 'alertmanager:none', ...extra })),
      ).toMatchObject({
        claimed: false,
        before: { incidentId: 'INC-2026-0007' },
      });
    }
    expect(await repeats(store, 'alertmanager:full')).toBe(1);
    expect(await repeats(store, 'alertmanager:almost')).toBe(3);
    expect(await repeats(store, 'alertmanager:none')).toBe(3);
  });

  it("joins a cross-source key held by another source's group, never by a group of its own source", async () => {
    const { store } = await setup();
    const cross = (owner: string, proposed: string) =>
      store.noteSignal(signal(['a@1'], { correlationKey: 'cross:trouble', proposed, claim: { owner } }));
    expect(await cross('alertmanager:group-1', 'INC-2026-0007')).toEqual({ claimed: true });
    expect(await cross('alertmanager:group-2', 'INC-2026-0008')).toMatchObject({ refused: true });
    expect(await cross('pagerduty:P123', 'INC-2026-0009')).toMatchObject({
      claimed: false,
      before: { incidentId: 'INC-2026-0007', owner: 'alertmanager:group-1' },
    });
    await store.markCorrelation('cross:trouble', 'INC-2026-0007', 'ended');
    expect(await cross('pagerduty:P123', 'INC-2026-0009')).toMatchObject({ refused: true });
  });
});
