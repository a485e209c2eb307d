/**
 * A burst: twelve alert groups fire at once and their responders work all twelve incidents at the
 * same moment. Every alert opens an incident of its own number, and every incident reaches Decide
 * — the incident item that people and lifecycle steps change together loses no write and stalls
 * no wait.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { openedToDecide } from '../support/casework.ts';
import { freePorts, getCase, start, tempDataDir } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const GROUPS = 12;

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
});
afterAll(() => stack?.close());

describe('a burst of incidents', () => {
  it('opens one incident per alert group fired at once, and each is worked to Decide', async () => {
    const bodies = Array.from({ length: GROUPS }, (_, i) => {
      const alert = JSON.parse(sample);
      alert.groupKey = `{}/{world="RML3"}:{alertname="Burst${i}"}`;
      return JSON.stringify(alert);
    });
    const results = await Promise.allSettled(bodies.map((body) => openedToDecide(stack, body)));
    expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([]);
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.incidentId] : []));
    expect(new Set(ids).size).toBe(GROUPS);
    for (const id of ids) {
      const c = await getCase(stack, id);
      expect(c.incident).toMatchObject({ phase: 'Decide', status: 'MITIGATED' });
    }
  }, 120_000);
});
