/**
 * One incident through two `kill -9`s of the whole local stack, each where it hurts: right after the
 * approval e-mails went out and before Step Functions recorded that they had, and in the middle of
 * Act, after its first run carried out effects and before Step Functions recorded that it had. After each restart the same execution continues; the links
 * from the first e-mails decide; no e-mail and no notice goes out twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, it } from 'vitest';
import { closeCase, openedToDecide } from '../support/casework.ts';
import {
  approvalLinks,
  approve,
  executionArnOf,
  freePorts,
  inbox,
  type StackProcess,
  spawnStack,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

async function describeExecution(target: StackProcess, executionArn: string) {
  const sfn = new SFNClient({
    endpoint: target.endpoints.stepFunctions,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } finally {
    sfn.destroy();
  }
}

describe('the local stack killed where it hurts', () => {
  it('keeps one execution through a crash after the approval e-mails and one in the middle of Act, sending nothing twice', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();

    // 1. The round opens and e-mails its approvers; the process dies before the result is recorded.
    stack = await spawnStack(dataDir, ports, 'requestApproval:1');
    const { incidentId, link: workroom } = await openedToDecide(stack, sample);
    await stack.line('HELD requestApproval 1');
    const links = await approvalLinks(stack, incidentId, 1);
    const executionArn = executionArnOf(stack, incidentId);
    const before = await describeExecution(stack, executionArn);
    expect(before.status).toBe('RUNNING');
    await stack.kill();

    // 2. The same execution waits again, and the first links decide. Act's first run carries out what it
    //    can (the notices, the refunds' first step); the process dies before that result is recorded.
    stack = await spawnStack(dataDir, ports, 'carryOutEffects:1');
    const resumed = await describeExecution(stack, executionArn);
    expect(resumed).toMatchObject({ executionArn, status: 'RUNNING' });
    expect(resumed.startDate).toEqual(before.startDate);
    for (const [role, link] of links) expect((await approve(link, `ok from ${role}`)).status).toBe(303);
    await stack.line('HELD carryOutEffects 1');
    expect((await inbox(stack)).filter((e) => e.subject.includes('approval needed'))).toEqual([]);
    const noticesBeforeCrash = (await inbox(stack)).filter((e) => e.subject.startsWith('About your account'));
    expect(noticesBeforeCrash.length).toBeGreaterThan(0);
    await stack.kill();

    // 3. After the second restart Act runs again and the incident closes; no notice goes out twice.
    stack = await spawnStack(dataDir, ports);
    const target = stack;
    const closed = await closeCase(target, incidentId, { link: workroom });
    // The incident closes before the execution's last states (anchoring the ledger) have run.
    await waitFor('the execution to succeed', async () =>
      (await describeExecution(target, executionArn)).status === 'SUCCEEDED' ? true : undefined,
    );
    const notices = (await inbox(stack)).filter((e) => e.subject.startsWith('About your account'));
    const recipients = [...noticesBeforeCrash, ...notices].map((e) => e.destination.to[0]).sort();
    expect(recipients).toEqual(['ada@example.com', 'grace@example.com']);
    const noticeEntries = closed.ledger.filter((e) => e.kind === 'notice');
    expect(noticeEntries.filter((e) => e.state === 'intent')).toHaveLength(2);
    expect(noticeEntries.filter((e) => e.state === 'confirmed')).toHaveLength(2);
    expect(closed.decisions.filter((d) => d.kind === 'approval').map((d) => d.detail.round)).toEqual([1, 1]);
    expect((await inbox(stack)).filter((e) => e.subject.includes('approval needed'))).toEqual([]);
  });
});
