/**
 * Through the AWS CLI, as an operator would look: an incident waits in Decide with its approval
 * e-mails sent; `kill -9` of the whole local stack; after the restart `aws stepfunctions
 * describe-execution` shows the same execution RUNNING, and once the links from the first e-mails
 * are used, SUCCEEDED. (Runs with `npm run test:aws-cli`: it needs the `aws` CLI.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { awsCliJson } from '../support/aws-cli.ts';
import { closeCase, openedToDecide } from '../support/casework.ts';
import {
  approvalLinks,
  approve,
  executionArnOf,
  freePorts,
  type StackProcess,
  spawnStack,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

function describeExecution(stack: StackProcess, executionArn: string): Promise<Record<string, unknown>> {
  return awsCliJson<Record<string, unknown>>(
    ['stepfunctions', 'describe-execution', '--execution-arn', executionArn],
    stack.endpoints.stepFunctions,
  );
}

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

describe('the local stack after kill -9, through the AWS CLI', () => {
  it('describes the same execution RUNNING after the restart, and SUCCEEDED once the first links decide', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, ports);
    const { incidentId, link: workroom } = await openedToDecide(stack, sample);
    const links = await approvalLinks(stack, incidentId, 1);
    const executionArn = executionArnOf(stack, incidentId);
    const before = await describeExecution(stack, executionArn);
    expect(before.status).toBe('RUNNING');

    await stack.kill();
    stack = await spawnStack(dataDir, ports);
    const after = await describeExecution(stack, executionArn);
    expect(after).toMatchObject({
      executionArn,
      name: incidentId,
      status: 'RUNNING',
      startDate: before.startDate,
    });

    for (const [role, link] of links) expect((await approve(link, `ok from ${role}`)).status).toBe(303);
    await closeCase(stack, incidentId, { link: workroom });
    // The incident closes before the execution's last states (anchoring the ledger) have run.
    const target = stack;
    await waitFor('the execution to succeed', async () =>
      (await describeExecution(target, executionArn)).status === 'SUCCEEDED' ? true : undefined,
    );
  });
});
