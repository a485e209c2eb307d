import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { formatIncidentId } from '../../functions/domain/incident.ts';
import { closeHash } from '../../functions/domain/period-close.ts';
import { LOCAL_BUCKETS, LOCAL_CREDENTIALS, LOCAL_TABLES } from '../../local/names.ts';
import type { LocalPorts } from '../../local/stack.ts';
import { casebook } from '../support/cli.ts';
import { FIXTURE, FIXTURE_LABOUR_RATES, fixtureDraft } from '../support/finance-fixture.ts';
import { seededFinanceStack } from '../support/finance-stack.ts';
import type { StackProcess } from '../support/local-stack.ts';

let stack: StackProcess;
let ports: LocalPorts;
let user: Record<string, string>;
let s3: S3Client;
let ledger: DynamoDbLedger;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  ({ stack, ports, user, ledger, doc } = await seededFinanceStack());
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${ports.s3}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
  });
}, 180_000);
afterAll(() => stack?.kill());

const close = (month: string) => casebook(['period', 'close', month, '--lag-days', '0'], labour());
const labour = () => ({ ...user, CASEBOOK_LABOUR_RATES: JSON.stringify(FIXTURE_LABOUR_RATES) });
const key = (month: string) => ({ Bucket: LOCAL_BUCKETS.anchors, Key: `closes/${month}.json` });

describe('closing months on a running npm start', () => {
  it('closes consecutive months once, refuses gaps and bad input, and verify names tampering', async () => {
    const exported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', '2026-12'], user);
    expect(exported.code, exported.stderr).toBe(0);

    for (const [month, message] of [
      ['2026-13', '"2026-13" is not a month (YYYY-MM)'],
      ['2099-01', '2099-01 is not over yet'],
    ] as const) {
      const bad = await close(month);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe(`casebook period close: ${message}\n`);
    }

    const october = await close('2026-10');
    expect(october.code, october.stderr).toBe(0);
    expect(october.stdout).toMatch(/^Closed 2026-10: [0-9a-f]{64}\n$/);

    const december = await close('2026-12');
    expect(december.code).toBe(2);
    expect(december.stderr).toContain('2026-12 is not over yet');

    const november = await close('2026-11');
    expect(november.code, november.stderr).toBe(0);
    const first = /^Closed 2026-11: ([0-9a-f]{64})$/m.exec(november.stdout)?.[1];
    expect(first).toBeDefined();
    expect(november.stdout).toContain('refunds');

    const stored = JSON.parse(
      (await (await s3.send(new GetObjectCommand(key('2026-11')))).Body?.transformToString()) ?? '',
    );
    expect(stored.hash).toBe(first);
    expect(stored.signature).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f]{8}$/),
      value: expect.any(String),
    });
    expect(stored.previous).toBe(/Closed 2026-10: ([0-9a-f]{64})/.exec(october.stdout)?.[1]);
    expect(Object.keys(stored.heads)).toHaveLength(FIXTURE.length);

    const again = await close('2026-11');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`2026-11 was already closed at ${stored.closedAt}: ${first}`);

    // A late refund effective in November, recorded now, and a dearer SRE: November's close holds.
    const report = await casebook(['period', 'report', '2026-11'], user);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(`2026-11, closed at ${stored.closedAt} (${first})`);
    await ledger.append(formatIncidentId(2026, 1), {
      ...fixtureDraft('2026-11-10', 90, {
        log: 'effect',
        kind: 'refund',
        state: 'confirmed',
        amount: { minor: 777, currency: 'EUR' },
      } as never),
      at: new Date().toISOString(),
      effectiveAt: '2026-11-20T10:00:00.000Z',
    });
    const reexported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', '2026-12'], user);
    expect(reexported.code, reexported.stderr).toBe(0);
    const dearer = {
      ...user,
      CASEBOOK_LABOUR_RATES: JSON.stringify({ SRE: { amount: '999.00', currency: 'EUR' } }),
    };
    const later = await casebook(['period', 'report', '2026-11'], dearer);
    expect(later.stdout).toBe(report.stdout);
    const recomputed = await casebook(['pnl', '--from', '2026-11', '--format', 'csv'], dearer);
    expect(recomputed.code, recomputed.stderr).toBe(0);
    // The P&L reads November from its close too: the late refund is December's adjustment.
    const closedRefunds = (stored.totals as { category: string; currency: string; amountMinor: number }[])
      .filter((t) => t.category === 'refunds' && t.currency === 'EUR')
      .reduce((sum, t) => sum + t.amountMinor, 0);
    expect(recomputed.stdout).toContain(`refunds,EUR,${(closedRefunds / 100).toFixed(2)},${closedRefunds},`);

    const verified = await casebook(['period', 'verify'], user);
    expect(verified.stdout).toBe('2 closes verified\n');
    expect(verified.code).toBe(0);

    // An attacker with the bucket's write rights: edits November's refunds, then deletes October.
    const edited = { ...stored, totals: stored.totals.map((t: object) => ({ ...t, amountMinor: 1 })) };
    await s3.send(new PutObjectCommand({ ...key('2026-11'), Body: JSON.stringify(edited) }));
    const afterEdit = await casebook(['period', 'verify'], user);
    expect(afterEdit.code).toBe(1);
    expect(afterEdit.stdout).toMatch(/^2026-11 edited: the close of 2026-11 was edited/m);

    // Then rehashes it, so the hash agrees again: only the signature, which needs the key, tells.
    const rehashed = { ...edited, hash: closeHash(edited) };
    await s3.send(new PutObjectCommand({ ...key('2026-11'), Body: JSON.stringify(rehashed) }));
    const afterRehash = await casebook(['period', 'verify'], user);
    expect(afterRehash.code).toBe(1);
    expect(afterRehash.stdout).toBe(
      '2026-11 bad-signature: the close of 2026-11 is not signed by the ledger signing key: someone wrote it without the key\n',
    );

    await s3.send(new DeleteObjectCommand(key('2026-10')));
    const afterDelete = await casebook(['period', 'verify'], user);
    expect(afterDelete.code).toBe(1);
    expect(afterDelete.stdout).toMatch(
      /^2026-10 deleted: the close of 2026-10 was claimed but its record is gone/m,
    );

    // And rewrites the ledger under the closed month: the second incident's head item.
    const second = formatIncidentId(2026, 2);
    const sealed = stored.heads[second] as { seq: number; hash: string };
    await doc.send(
      new UpdateCommand({
        TableName: LOCAL_TABLES.ledger,
        Key: { incidentId: second, seq: sealed.seq },
        UpdateExpression: 'SET #hash = :forged',
        ExpressionAttributeNames: { '#hash': 'hash' },
        ExpressionAttributeValues: { ':forged': 'f'.repeat(64) },
      }),
    );
    const afterForgery = await casebook(['period', 'verify'], user);
    expect(afterForgery.code).toBe(1);
    expect(afterForgery.stdout).toContain(
      `2026-11 head-mismatch: incident ${second}'s entry ${sealed.seq} no longer hashes as the close of 2026-11 sealed it`,
    );

    // `ledger verify` walks the closes too.
    const whole = await casebook(['ledger', 'verify'], user);
    expect(whole.code).toBe(1);
    expect(whole.stdout).toMatch(/^2026-10 deleted: /m);
    expect(whole.stdout).toMatch(/^2026-11 bad-signature: /m);
    expect(whole.stdout).toContain(`2026-11 head-mismatch: incident ${second}'s entry ${sealed.seq}`);
  }, 240_000);
});
