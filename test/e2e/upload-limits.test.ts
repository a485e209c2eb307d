/**
 * The customer list's documented limit against Lambda's 6 MB request payload, on the local stack:
 * a list at the limit, posted from the workroom's form (multipart, which API Gateway base64-encodes),
 * reaches the workroom and is taken; a 5 MB one is refused by the gateway with 413, as on AWS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/domain/limits.ts';
import type { LocalStack } from '../../local/stack.ts';
import { done, inPhase, RESPONDER, workLinks, workroom } from '../support/casework.ts';
import { freePorts, postAlert, start, tempDataDir } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let link: string;

beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
  const res = await postAlert(stack, sample);
  expect(res.status).toBe(201);
  const { incidentId } = (await res.json()) as { incidentId: string };
  link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
  await done(link, 'acknowledge');
  await done(link, 'contain', {
    actions: [{ description: 'Retries turned off', safety: 'SAFE_REVERSIBLE', world: 'RML2' }],
    contained: true,
  });
  await inPhase(link, 'Understand');
}, 120_000);
afterAll(() => stack?.close());

/** `rows` customers, each row as long as a real one with a long name and address. */
function customersCsv(rows: number): string {
  const lines = ['customer_ref,email,name,amount,currency,product_area,payment_ref'];
  for (let n = 1; n <= rows; n++)
    lines.push(
      `cus_${String(n).padStart(10, '0')},firstname.lastname-${n}@example.com,Firstname Lastname-${n},12.50,EUR,payments,ch_3PjZ${String(n).padStart(20, 'x')}`,
    );
  return lines.join('\n');
}

/** Posts the list as the workroom's form does, with the headers a browser adds. */
async function upload(csv: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'customers.csv');
  return fetch(`${link}/customers`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'user-agent': `Mozilla/5.0 ${'x'.repeat(200)}`,
      cookie: `session=${'c'.repeat(2048)}`,
    },
    body: form,
  });
}

describe('a customer list sent from the workroom form', () => {
  it('at the documented limit, as many customers as the workroom says, is taken whole', async () => {
    const csv = customersCsv(LIMITS.customerListRowsAbout);
    // Near the limit in bytes, too: more than 85 % of it.
    expect(Buffer.byteLength(csv)).toBeLessThanOrEqual(LIMITS.customerListBytes);
    expect(Buffer.byteLength(csv)).toBeGreaterThan(0.85 * LIMITS.customerListBytes);
    const res = await upload(csv);
    expect(res.status, await res.clone().text()).toBe(200);
    const view = (await workroom(link)) as unknown as { incident: { customerList?: { count: number } } };
    expect(view.incident.customerList?.count).toBe(LIMITS.customerListRowsAbout);
  }, 180_000);

  it('of 5 MB is refused by the gateway with 413, before the workroom runs', async () => {
    const before = JSON.stringify((await workroom(link)).incident);
    const res = await upload(customersCsv(0).padEnd(5 * 1024 * 1024, '\n'));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(JSON.stringify((await workroom(link)).incident)).toBe(before);
  });
});
