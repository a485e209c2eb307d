import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { verifyLedgerTable } from '../../functions/adapters/ledger-verification.ts';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

const run = promisify(execFile);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const draft = (n: number): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'credit',
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:00:0${n}.000Z`,
  actor: 'test',
  idempotencyKey: `k${n}`,
  summary: `goodwill credit ${n}`,
  detail: { n },
  amount: { minor: 500 * n, currency: 'USD' },
  costLine: 'brand',
});

async function seeded() {
  const { ledger: table } = await db.tables();
  const ledger = new DynamoDbLedger(db.doc, table);
  for (const id of ['INC-2026-0001', 'INC-2026-0002'])
    for (let n = 1; n <= 4; n++) await ledger.append(id, draft(n));
  return table;
}

describe("verifying the ledger (the auditor's check)", () => {
  it('finds nothing wrong with an untouched ledger', async () => {
    const table = await seeded();
    expect(await verifyLedgerTable(db.doc, table)).toEqual([
      { incidentId: 'INC-2026-0001', entries: 4, problems: [] },
      { incidentId: 'INC-2026-0002', entries: 4, problems: [] },
    ]);
  });

  it('finds an entry edited in place and one deleted from the middle, each in its incident', async () => {
    const table = await seeded();
    await db.doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { incidentId: 'INC-2026-0001', seq: 2 },
        UpdateExpression: 'SET amount = :a',
        ExpressionAttributeValues: { ':a': { minor: 1, currency: 'USD' } },
      }),
    );
    await db.doc.send(new DeleteCommand({ TableName: table, Key: { incidentId: 'INC-2026-0002', seq: 3 } }));
    const report = await verifyLedgerTable(db.doc, table);
    expect(report[0]?.problems).toEqual([
      { seq: 2, problem: 'edited', detail: 'content does not match its hash' },
    ]);
    expect(report[1]?.problems.map((p) => [p.seq, p.problem])).toEqual([
      [4, 'gap'],
      [4, 'broken-link'],
    ]);
  });

  it('is a command that prints the verdict and exits 1 when the chain is broken', async () => {
    const table = await seeded();
    const script = join(import.meta.dirname, '../../scripts/verify-ledger.ts');
    const ok = await run(process.execPath, [script, '--endpoint', db.endpoint, '--table', table], {
      env: { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' },
    });
    expect(ok.stdout).toContain('INC-2026-0001: 4 entries, chain intact');
    await db.doc.send(new DeleteCommand({ TableName: table, Key: { incidentId: 'INC-2026-0001', seq: 1 } }));
    const broken = await run(
      process.execPath,
      [script, '--endpoint', db.endpoint, '--table', table, '--incident', 'INC-2026-0001'],
      {
        env: { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' },
      },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(broken?.code).toBe(1);
    expect(broken?.stdout).toContain('seq 2: gap');
  });
});
