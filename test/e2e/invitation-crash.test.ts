/**
 * End to end on the local stack, over HTTP: the step that invites the incident's people dies
 * (`kill -9`) after SES took the responder's invitation and before the link was marked e-mailed.
 * Restarted, the same execution invites again: the responder gets a second invitation, and the
 * link already in their inbox still opens the workroom and records what they do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESPONDER, work } from '../support/casework.ts';
import type { StackEndpoints, StackProcess } from '../support/local-stack.ts';
import { freePorts, inbox, postAlert, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const INVITED = 'you are a responder';

/** The responder's invitation links in the inbox, oldest first. */
async function invitations(target: StackEndpoints, incidentId: string): Promise<string[]> {
  return (await inbox(target))
    .filter((m) => m.destination.to[0] === RESPONDER && m.subject.includes(`${incidentId}: ${INVITED}`))
    .map((m) => new RegExp(`(http://\\S+/work/${incidentId}\\.\\S+)`).exec(m.body.text ?? '')?.[1] ?? '');
}

describe('an invitation sent just before a crash', () => {
  it('keeps working after the restarted step invites again', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, ports, `mail:after:1:${INVITED}`);
    const res = await postAlert(stack, sample);
    expect(res.status).toBe(201);
    const { incidentId } = (await res.json()) as { incidentId: string };
    await stack.line('HELD mail 1');
    const [first] = await invitations(stack, incidentId);
    expect(first).toBeDefined();
    await stack.kill();

    // The same execution runs the invitation step again; SES's store starts empty.
    stack = await spawnStack(dataDir, ports);
    const target = stack;
    const [second] = await waitFor(
      'the invitation sent again',
      async () => {
        const links = await invitations(target, incidentId);
        return links.length > 0 ? links : undefined;
      },
      60_000,
    );
    expect(second).not.toBe(first);
    // The link in the inbox before the crash still works, as does the new one.
    for (const link of [first, second]) {
      const page = await fetch(link ?? '', { headers: { accept: 'application/json' } });
      expect(page.status).toBe(200);
    }
    expect((await work(first ?? '', 'acknowledge')).status).toBe(200);
  }, 300_000);
});
