/**
 * Proofs from the table as it is: a log begun in format 2 (one sealed item per entry, no signed
 * head) and gone on in format 3 batches proves every entry — the old ones included — against a
 * format 3 head, and proves the heads consistent, checked with the public key alone.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProvableLog } from '../../functions/adapters/provable-log.ts';
import { ledgerPublicKey } from '../../functions/domain/checkpoint.ts';
import type { LedgerEntryDraft, LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { sealEntry } from '../../functions/domain/ledger.ts';
import {
  checkProofFile,
  parseProofFile,
  proveConsistency,
  proveInclusion,
  renderProofFile,
} from '../../functions/domain/proof-file.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

const INC = 'INC-2026-0005';
let db: TestDatabase;
let table: string;

const draft = (key: string): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'casebook (Act)',
  idempotencyKey: key,
  summary: `refund ${key}`,
  state: 'confirmed',
  amount: { minor: 2500, currency: 'EUR' },
  obligation: 'tos',
  detail: { customer: 'cus_9f2c' },
});

beforeAll(async () => {
  db = await startTestDatabase();
  table = (await db.tables()).ledger;
  const old: LedgerEntryV2[] = [];
  for (const key of ['p', 'q']) old.push(await sealEntry(INC, old.at(-1), draft(key), db.sealer));
  for (const entry of old) await db.doc.send(new PutCommand({ TableName: table, Item: entry }));
  const ledger = db.ledger(table);
  await ledger.append(INC, draft('r'));
  // Three at once: they may share a batch, and there is a head after each batch.
  await Promise.all(['s', 't', 'u'].map((key) => ledger.append(INC, draft(key))));
});
afterAll(() => db?.close());

describe('proofs from a log in both formats', () => {
  it('lays the log out as its leaves, with a head after each format 3 batch only', async () => {
    const log = await readProvableLog(db.doc, table, INC);
    expect(log.entries.map((e) => [e.format, e.idempotencyKey])).toEqual([
      [2, 'p'],
      [2, 'q'],
      [3, 'r'],
      [3, 's'],
      [3, 't'],
      [3, 'u'],
    ]);
    const sizes = log.heads.map((h) => h.size);
    expect(sizes[0]).toBe(3);
    expect(sizes.at(-1)).toBe(6);
    expect(sizes.every((size) => size >= 3)).toBe(true);
  });

  it('proves every entry, format 2 ones included, and the heads consistent, with the public key alone', async () => {
    const log = await readProvableLog(db.doc, table, INC);
    const publicKey = ledgerPublicKey(await db.headSigner.publicKey());
    for (let seq = 1; seq <= 6; seq++) {
      const proof = parseProofFile(renderProofFile(proveInclusion(log, seq)));
      expect(checkProofFile(proof, publicKey), `seq ${seq}`).toMatchObject({ ok: true });
    }
    const consistency = parseProofFile(renderProofFile(proveConsistency(log, 3)));
    expect(consistency).toMatchObject({ from: { size: 3 }, to: { size: 6 } });
    expect(checkProofFile(consistency, publicKey)).toMatchObject({ ok: true });
    // A format 2 size has no signed head to prove from.
    expect(() => proveConsistency(log, 2)).toThrow(
      `${INC} has no signed head of size 2; its heads are of sizes 3, 6`,
    );
  });

  it('says so for an incident with no entries', async () => {
    await expect(readProvableLog(db.doc, table, 'INC-2026-0404')).rejects.toThrow(
      'No ledger entries for INC-2026-0404',
    );
  });
});
