/**
 * An alert storm against the local stack, bounded (a few thousand requests in a few seconds, to
 * 127.0.0.1 only): the gateway throttles as the HTTP API stage does on AWS — 429 with Retry-After
 * past the stage's rate and burst — every accepted alert opens its incident exactly once, and the
 * process's heap returns near its idle level once the storm has passed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_THROTTLE } from '../../functions/routes.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, postAlert, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
/** Distinct alert groups in the storm: each is re-sent, as Alertmanager does. */
const GROUPS = 5;
const REQUESTS = 3000;
const STORM_MS = 3000;

// The stack runs in a process of its own, as `npm start` does: the storm's sender does not share its
// heap or its event loop, and its heap is measured there after a full collection.
let stack: StackProcess;
beforeAll(async () => {
  stack = await spawnStack(tempDataDir(), await freePorts(), undefined, { CASEBOOK_TEST_HEAP: '1' });
}, 120_000);
afterAll(() => stack?.kill());

function alertOf(group: number): string {
  const alert = JSON.parse(sample);
  alert.groupKey = `{}/{world="RML3"}:{alertname="Storm${group}"}`;
  alert.groupLabels = { ...alert.groupLabels, alertname: `Storm${group}` };
  alert.commonLabels = { ...alert.commonLabels, alertname: `Storm${group}` };
  alert.alerts[0].labels = { ...alert.alerts[0].labels, alertname: `Storm${group}` };
  alert.alerts[0].fingerprint = `storm${String(group).padStart(12, '0')}`;
  return JSON.stringify(alert);
}

let heapAsked = 0;
/** The stack's heap in use after a full collection, in bytes. */
async function heapAfterGc(): Promise<number> {
  const n = ++heapAsked;
  stack.child.kill('SIGUSR2');
  return Number((await stack.line(`HEAP ${n} `)).split(' ')[2]);
}

interface Incidents {
  incidents: { id: string; phase: string; title: string }[];
}
async function incidents(): Promise<Incidents['incidents']> {
  const res = await fetch(`${stack.endpoints.api}/incidents?limit=200`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Incidents).incidents;
}

/** Waits until no incident's records change any more: every lifecycle waits for people. */
async function quiet(): Promise<void> {
  let last = '';
  let same = 0;
  await waitFor(
    'every lifecycle to wait for people',
    async () => {
      const all = await incidents();
      const cases = await Promise.all(all.map((i) => getCase(stack, i.id)));
      const now = JSON.stringify(cases.map((c) => [c.incident.phase, c.timeline.length, c.ledger.length]));
      same = now === last ? same + 1 : 0;
      last = now;
      await new Promise((r) => setTimeout(r, 500));
      return same >= 3 ? true : undefined;
    },
    120_000,
  );
}

describe('an alert storm', () => {
  it('is throttled with 429 and Retry-After, opens each incident once, and leaves the heap as it found it', async () => {
    // Idle: the handlers warm, one incident opened and settled.
    expect((await postAlert(stack, alertOf(-1))).status).toBe(201);
    await quiet();
    await new Promise((r) => setTimeout(r, 1100)); // the bucket refills
    const idle = await heapAfterGc();

    const answers: { group: number; status: number; retryAfter: string | null; incidentId?: string }[] = [];
    const started = performance.now();
    const waves = 30;
    const sent: Promise<void>[] = [];
    for (let wave = 0; wave < waves; wave++) {
      for (let i = 0; i < REQUESTS / waves; i++) {
        const group = (wave * (REQUESTS / waves) + i) % GROUPS;
        sent.push(
          postAlert(stack, alertOf(group)).then(
            async (res) => {
              const body = (await res.json().catch(() => ({}))) as { incidentId?: string };
              answers.push({
                group,
                status: res.status,
                retryAfter: res.headers.get('retry-after'),
                ...(body.incidentId ? { incidentId: body.incidentId } : {}),
              });
            },
            // A connection the stack dropped counts as status 0.
            (error: Error) => {
              answers.push({ group, status: 0, retryAfter: `${error.message}: ${String(error.cause)}` });
            },
          ),
        );
      }
      await new Promise((r) => setTimeout(r, STORM_MS / waves));
    }
    await Promise.all(sent);
    const seconds = (performance.now() - started) / 1000;

    const count = (status: number) => answers.filter((a) => a.status === status).length;
    const accepted = answers.filter((a) => a.status === 201 || a.status === 200);
    const statuses = Object.fromEntries([...new Set(answers.map((a) => a.status))].map((s) => [s, count(s)]));
    expect(answers).toHaveLength(REQUESTS);
    expect(answers.filter((a) => a.status === 0).slice(0, 3), JSON.stringify(statuses)).toEqual([]);
    // Throttled, and told when to come back.
    expect(count(429), JSON.stringify(statuses)).toBeGreaterThan(REQUESTS / 2);
    for (const a of answers.filter((x) => x.status === 429 || x.status === 503))
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    // Nothing else went wrong, and no more got through than the stage lets (one route's bucket).
    expect(
      answers.filter((a) => ![200, 201, 429, 503].includes(a.status)),
      JSON.stringify(statuses),
    ).toEqual([]);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(
      API_THROTTLE.burstLimit + Math.ceil(API_THROTTLE.rateLimit * seconds) + 1,
    );

    // Each group that got through opened one incident, once: every accepted alert of a group names
    // the same incident (racing opens may each answer 201 for it), and no other incident exists.
    const groups = new Set(accepted.map((a) => a.group));
    for (const group of groups) {
      const ofGroup = accepted.filter((a) => a.group === group);
      expect(new Set(ofGroup.map((a) => a.incidentId)).size, `group ${group}`).toBe(1);
      expect(
        ofGroup.some((a) => a.status === 201),
        `group ${group}`,
      ).toBe(true);
    }
    await quiet();
    expect((await incidents()).length).toBe(groups.size + 1);

    // The heap returns near idle: what the storm held is released.
    const after = await heapAfterGc();
    const grewMb = (after - idle) / (1024 * 1024);
    console.log(
      `storm: ${REQUESTS} requests in ${seconds.toFixed(1)} s, ${JSON.stringify(statuses)}, heap idle ${(idle / 2 ** 20).toFixed(0)} MB, after ${(after / 2 ** 20).toFixed(0)} MB`,
    );
    expect(grewMb).toBeLessThan(20);
  }, 300_000);
});
