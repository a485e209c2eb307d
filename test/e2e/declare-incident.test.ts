/**
 * End to end on the local stack, over HTTP: customer support declares an incident from a complaint
 * (`POST /incidents`), and it opens like an alert — the case shows it with the reporter and the CS
 * ticket, its lifecycle execution runs, and declaring the same ticket again answers the same incident.
 */
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { LocalStack } from '../../local/stack.ts';
import { LOCAL_CREDENTIALS } from '../../local/stack.ts';
import { complaint } from '../support/declarations.ts';
import { executionArnOf, freePorts, getCase, start, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: LocalStack;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
  sfn = new SFNClient({
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.stepFunctions,
  });
}, 120_000);
afterAll(async () => {
  // Lifecycles started here must reach their first wait for people before the tables close.
  for (const incidentId of opened) await settled(incidentId);
  sfn?.destroy();
  await stack?.close();
});

/** Incidents the tests opened. */
const opened = new Set<string>();

async function declare(body: unknown): Promise<Response> {
  const res = await fetch(`${stack.endpoints.api}/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const incidentId = res.status === 201 ? res.headers.get('location')?.split('/').at(-1) : undefined;
  if (incidentId) opened.add(incidentId);
  return res;
}

/** Waits until the incident's records stop changing: its lifecycle waits for a person. */
async function settled(incidentId: string): Promise<void> {
  let last = '';
  let same = 0;
  await waitFor(`${incidentId} to settle`, async () => {
    const c = await getCase(stack, incidentId);
    const now = JSON.stringify([c.incident.phase, c.incident.status, c.timeline.length, c.ledger.length]);
    same = now === last ? same + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 200));
    return same >= 3 ? true : undefined;
  });
}

describe('POST /incidents on the local stack', () => {
  it('opens the incident, shows it in GET /incidents/{id} with reporter and ticket, and runs its lifecycle', async () => {
    // Act
    const res = await declare({ ...complaint, productArea: 'payments' });
    // Assess
    expect(res.status).toBe(201);
    const body = (await res.json()) as { incidentId: string; location: string };
    expect(res.headers.get('location')).toBe(body.location);
    expect(body.location).toBe(`/incidents/${body.incidentId}`);

    const found = await fetch(`${stack.endpoints.api}${body.location}`);
    expect(found.status).toBe(200);
    const { incident, timeline, ledger } = (await getCase(stack, body.incidentId)) as Awaited<
      ReturnType<typeof getCase>
    > & { incident: { source: string; world: string; title: string; productArea: string } };
    expect(incident).toMatchObject({
      id: body.incidentId,
      source: 'declared',
      world: 'RML3',
      title: complaint.title,
      productArea: 'payments',
    });
    const detection = timeline.find((e) => e.type === 'detection');
    expect(detection?.summary).toContain('Declared by ana@corp.example from CS ticket CS-4521');
    expect(ledger[0]).toMatchObject({
      kind: 'detection',
      world: 'RML3',
      detail: { reporter: 'ana@corp.example', csTicketId: 'CS-4521' },
    });

    const execution = await sfn.send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(stack, incident.id) }),
    );
    expect(execution.status).toBe('RUNNING');
    // The lifecycle moves the declared incident on by itself, as it does an alert's.
    await waitFor('the lifecycle to leave Detect', async () => {
      const c = await getCase(stack, body.incidentId);
      return c.timeline.some((e) => e.type === 'phase_entered' && e.phase === 'Contain') ? c : undefined;
    });

    const caseFile = parse(
      await (await fetch(`${stack.endpoints.api}/incidents/${body.incidentId}/case-file.yaml`)).text(),
    ) as { detected_by: unknown };
    expect(caseFile.detected_by).toEqual([{ type: 'cs_ticket', id: 'CS-4521' }]);
  });

  it('answers the incident its ticket opened when a colleague declares it again, and opens no second', async () => {
    const first = (await (await declare({ ...complaint, csTicketId: 'CS-9001' })).json()) as {
      incidentId: string;
    };
    const again = await declare({ ...complaint, csTicketId: 'cs-9001', reporter: 'bo@corp.example' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { incidentId: string }).incidentId).toBe(first.incidentId);

    const list = (await (await fetch(`${stack.endpoints.api}/incidents?limit=200`)).json()) as {
      incidents: { id: string; labels: Record<string, string> }[];
    };
    expect(list.incidents.filter((i) => i.labels.cs_ticket?.toLowerCase() === 'cs-9001')).toHaveLength(1);
  });

  it('refuses a declaration with a bad field with a 400 naming it', async () => {
    const res = await declare({ ...complaint, csTicketId: 'CS-9002', category: 'billing' });
    expect(res.status).toBe(400);
    const { issues } = (await res.json()) as { issues: { field: string }[] };
    expect(issues.map((i) => i.field)).toEqual(['category']);
  });
});
