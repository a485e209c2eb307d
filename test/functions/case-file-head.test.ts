/**
 * The case file is made at the log's signed head: it carries that head, and an entry appended
 * after the head was read is not in it, so what it summarises is exactly what its head signs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { systemClock } from '../../functions/adapters/aws.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import type { SignedHead } from '../../functions/domain/checkpoint.ts';
import { ledgerPublicKey, verifyHeadSignature } from '../../functions/domain/checkpoint.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { Ledger } from '../../functions/domain/ports.ts';
import { getCaseFile } from '../../functions/use-cases/read-incidents.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const INC = 'INC-2026-0001';
let db: TestDatabase;
let tables: { operations: string; ledger: string };

/** A cost recorded by hand: it shows on the case file's timeline under its kind. */
const byHand = (n: number, kind: LedgerEntryDraft['kind']): LedgerEntryDraft => ({
  log: 'effect',
  kind,
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:0${n}:00.000Z`,
  actor: 'finance',
  idempotencyKey: `api:cost-${n}`,
  summary: `cost ${n}`,
  state: 'confirmed',
  amount: { minor: 1000 * n, currency: 'EUR' },
  obligation: 'tos',
  detail: {},
});

beforeAll(async () => {
  db = await startTestDatabase();
  tables = await db.tables();
  await new DynamoDbOperationsStore(db.doc, tables.operations).createIncident(plainIncident(1));
});
afterAll(() => db?.close());

const caseFileWith = async (ledger: Ledger) =>
  parse(
    await getCaseFile(
      {
        incidents: new DynamoDbOperationsStore(db.doc, tables.operations),
        ledger,
        postmortems: new DynamoDbWorkroom(db.doc, tables.operations),
        policy: DEFAULT_DEADLINE_POLICY,
        clock: systemClock,
      },
      INC,
    ),
  ) as { ledger_head?: Record<string, unknown>; timeline: { type: string }[] };

describe('the case file at the signed head', () => {
  it('carries the head and leaves out what was appended after it was read', async () => {
    const ledger = db.ledger(tables.ledger);
    await ledger.append(INC, byHand(1, 'legal_fee'));
    const first = (await ledger.readHead(INC))?.head as SignedHead;
    await ledger.append(INC, byHand(2, 'ops_labour'));

    const now = await caseFileWith(ledger);
    expect(now.ledger_head).toMatchObject({ size: 2, origin: `casebook/ledger/${INC}` });
    expect(now.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['legal_fee', 'ops_labour']));

    // The head as it was before the second append, as a reader racing that append would see it.
    const racing: Ledger = {
      append: (id, draft) => ledger.append(id, draft),
      read: (id) => ledger.read(id),
      readPage: (id, page) => ledger.readPage(id, page),
      readHead: async () => ({ seq: 1, hash: 'x', size: 1, head: first }),
    };
    const then = await caseFileWith(racing);
    expect(then.ledger_head).toEqual({
      origin: first.origin,
      size: 1,
      root: first.root,
      key_id: first.keyId,
      signature: first.signature,
    });
    expect(then.timeline.map((e) => e.type)).toContain('legal_fee');
    expect(then.timeline.map((e) => e.type)).not.toContain('ops_labour');
    const publicKey = ledgerPublicKey(await db.headSigner.publicKey());
    expect(verifyHeadSignature(first, publicKey)).toBe(true);
  });
});
