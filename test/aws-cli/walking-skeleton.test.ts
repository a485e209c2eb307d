/**
 * The local stack as the AWS CLI sees it: the commands README gives for looking inside
 * (`aws stepfunctions list-executions`, `aws dynamodb scan`) show an incident's executions, through
 * a restart, and its ledger. Runs with `npm run test:aws-cli`; `test/e2e/walking-skeleton.test.ts`
 * checks the same through the SDK.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPorts, LocalStack } from '../../local/stack.ts';
import { awsCliJson } from '../support/aws-cli.ts';
import { closeCase, openedToDecide } from '../support/casework.ts';
import { approvalLinks, approve, freePorts, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let ports: LocalPorts;
let dataDir: string;

/** Execution name → status, as `aws stepfunctions list-executions` reports them. */
async function executionStatuses(): Promise<Record<string, string>> {
  const { executions } = await awsCliJson<{ executions: { name: string; status: string }[] }>(
    ['stepfunctions', 'list-executions', '--state-machine-arn', stack.stateMachineArn],
    stack.endpoints.stepFunctions,
  );
  return Object.fromEntries(executions.map((e) => [e.name, e.status]));
}

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  stack = await start(dataDir, ports);
});
afterAll(async () => {
  await stack?.close();
});

describe('the local stack through the AWS CLI', () => {
  it('lists the execution a restart interrupted as RUNNING again, then SUCCEEDED, and the ledger it wrote', async () => {
    const { incidentId } = await openedToDecide(stack, sample);
    const links = await approvalLinks(stack, incidentId, 1);
    expect(await executionStatuses()).toEqual({ [incidentId]: 'RUNNING' });

    await stack.close();
    stack = await start(dataDir, ports);
    // The same execution continues: no continuation, and the links e-mailed before the restart decide.
    expect(await executionStatuses()).toEqual({ [incidentId]: 'RUNNING' });
    for (const [role, link] of links) expect((await approve(link, `ok from ${role}`)).status).toBe(303);
    await closeCase(stack, incidentId);
    // The incident closes before the execution's last states (anchoring the ledger) have run.
    await waitFor('the execution to succeed', async () =>
      (await executionStatuses())[incidentId] === 'SUCCEEDED' ? true : undefined,
    );
    expect(await executionStatuses()).toEqual({ [incidentId]: 'SUCCEEDED' });

    interface Attribute {
      readonly S?: string;
      readonly L?: readonly { readonly M?: Record<string, Attribute> }[];
      readonly M?: Record<string, Attribute>;
    }
    const { Items } = await awsCliJson<{ Items: Record<string, Attribute>[] }>(
      ['dynamodb', 'scan', '--table-name', stack.tables.ledger],
      stack.endpoints.dynamodb,
    );
    // Format 3: each item a batch of entries under a signed head.
    const items = Items.filter((i) => i.incidentId?.S === incidentId);
    expect(items.every((i) => i.head?.M?.signature?.S && i.entries?.L?.length)).toBe(true);
    const kinds = items.flatMap((i) => i.entries?.L?.map((e) => e.M?.kind?.S) ?? []);
    expect(kinds).toEqual(expect.arrayContaining(['detection', 'notice', 'approval']));
  });
});
