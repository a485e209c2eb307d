/**
 * What the approvers approve is what is carried out, with people racing and failing on the
 * workroom of one incident, on the local stack over HTTP: parallel customer uploads with different
 * lists, then parallel plans with different credits. Whatever each request answered, the committed
 * list's stored rows are exactly that list, the committed plan's stored effects hash to what its
 * hash says, and after approval Act pays each committed customer exactly the approved credit at the
 * Stripe stand-in. A customer list that cannot be stored is refused (400 naming the line) before
 * anything is written, and the next upload's plan holds only its own customers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { stripeClient } from '../../functions/adapters/stripe-payments.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import type { PlannedEffect } from '../../functions/domain/plan.ts';
import { effectsHasher } from '../../functions/domain/plan.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  approveRound,
  chargedCustomers,
  done,
  inPhase,
  RESPONDER,
  work,
  workLinks,
} from '../support/casework.ts';
import { freePorts, postAlert, resolvedCase, start, tempDataDir } from '../support/local-stack.ts';

const sample = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8'),
) as Record<string, unknown>;
let alerts = 0;
const HEADER = 'customer_ref,email,name,amount,currency,product_area,payment_ref';
/** More requests than the workroom's retries of a lost write: some of them lose for good (409). */
const RACERS = 8;

let stack: LocalStack;
let db: DynamoDBDocumentClient;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      endpoint: stack.endpoints.dynamodb,
    }),
  );
});
afterAll(() => stack?.close());

async function incident(id: string): Promise<Incident> {
  const found = await new DynamoDbOperationsStore(db, stack.tables.operations).getIncident(id);
  if (!found) throw new Error(`no incident ${id}`);
  return found;
}

/** Every stored row of `kind` (`CUSTOMER`, `EFFECT`) under the version the incident names. */
async function storedRows(
  incidentId: string,
  kind: 'CUSTOMER' | 'EFFECT',
  version: { version: number; versionId?: string },
): Promise<Record<string, unknown>[]> {
  const id = version.versionId ?? String(version.version).padStart(4, '0');
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: stack.tables.operations,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `INCIDENT#${incidentId}`, ':prefix': `${kind}#${id}#` },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    rows.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return rows;
}

/** The fields of a planned effect, as the plan's hash covers them (not Act's progress). */
const PLANNED_FIELDS = [
  'effectId',
  'planVersion',
  'kind',
  'customerRef',
  'counterparty',
  'world',
  'safety',
  'obligation',
  'amount',
  'paymentRef',
  'productArea',
  'template',
  'credit',
  'contentHash',
] as const satisfies readonly (keyof PlannedEffect)[];

function hashOf(rows: readonly Record<string, unknown>[]): string {
  const hasher = effectsHasher();
  for (const row of rows)
    hasher.add(
      Object.fromEntries(
        PLANNED_FIELDS.filter((f) => row[f] !== undefined).map((f) => [f, row[f]]),
      ) as unknown as PlannedEffect,
    );
  return hasher.digest();
}

/** Opens an incident from the alert and takes it to Understand with its impact assessed. */
async function toUnderstand(): Promise<{ incidentId: string; link: string }> {
  // A group of its own: each test opens an incident of its own.
  const res = await postAlert(
    stack,
    JSON.stringify({ ...sample, groupKey: `{}:{alertname="WorkroomRace${++alerts}"}` }),
  );
  expect(res.status).toBe(201);
  const { incidentId } = (await res.json()) as { incidentId: string };
  const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
  await done(link, 'acknowledge');
  await done(link, 'contain', {
    actions: [{ description: 'Settlement batch held back', safety: 'RISKY', world: 'RML3' }],
    contained: true,
  });
  await inPhase(link, 'Understand');
  await done(link, 'impact', {
    users: 3,
    transactions: 3,
    assets: ['money'],
    from: '2026-11-22T10:23:00Z',
    to: '2026-11-22T11:05:00Z',
    summary: 'Settled payments were charged twice.',
  });
  return { incidentId, link };
}

const credit = (amount: string) => ({
  summary: `A goodwill credit of EUR ${amount} each.`,
  apply: [{ kind: 'credit', amount, currency: 'EUR', obligation: 'brand' }],
  effects: [],
});

describe('racing and failing workroom requests leave nothing a later step reads', () => {
  it('parallel customer lists: the committed list is stored as it is, and the plan covers exactly it', async () => {
    const { incidentId, link } = await toUnderstand();
    // Lists of different customers and sizes.
    const lists = Array.from({ length: RACERS }, (_, i) =>
      [
        HEADER,
        ...Array.from(
          { length: 1 + (i % 3) },
          (_, k) => `cus_r${i}_${k},r${i}k${k}@example.com,Racer ${i} ${k},10.00,EUR,payments,ch_r${i}_${k}`,
        ),
      ].join('\n'),
    );
    const uploads = await Promise.all(lists.map((csv) => work(link, 'customers', csv)));
    expect(uploads.map((u) => u.status).every((s) => s === 200 || s === 409)).toBe(true);
    expect(uploads.some((u) => u.status === 200)).toBe(true);

    // The committed list's rows are exactly that list's customers, whichever upload it was.
    const listed = await incident(incidentId);
    const list = listed.customerList as NonNullable<Incident['customerList']>;
    const rows = await storedRows(incidentId, 'CUSTOMER', list);
    const refs = rows.map((r) => r.customerRef as string).sort();
    expect(refs).toHaveLength(list.count);
    const uploaded = lists.map((csv) =>
      csv
        .split('\n')
        .slice(1)
        .map((r) => r.split(',')[0])
        .sort(),
    );
    expect(uploaded, `the stored customers ${refs.join(', ')} are one upload's list`).toContainEqual(refs);

    await done(link, 'plan', credit('5.00'));
    const plan = (await incident(incidentId)).plan as NonNullable<Incident['plan']>;
    expect(plan.effectCount).toBe(refs.length);
    const effects = await storedRows(incidentId, 'EFFECT', plan);
    expect(effects.map((e) => e.customerRef as string).sort()).toEqual(refs);
    expect(hashOf(effects)).toBe(plan.effectsHash);
  }, 120_000);

  it("parallel plans: the committed plan's stored effects are what it says, and Act pays exactly that", async () => {
    const { incidentId, link } = await toUnderstand();
    const customers = await chargedCustomers(
      stack,
      [
        HEADER,
        'cus_ada,ada@example.com,Ada,10.00,EUR,payments',
        'cus_bo,bo@example.com,Bo,10.00,EUR,payments',
        'cus_cy,cy@example.com,Cy,10.00,EUR,payments',
      ].join('\n'),
    );
    await done(link, 'customers', customers);

    const plans = await Promise.all(
      Array.from({ length: RACERS }, (_, i) => work(link, 'plan', credit(`${i + 1}.00`))),
    );
    expect(plans.map((p) => p.status).every((s) => s === 200 || s === 409)).toBe(true);

    // The committed plan: its stored effects are what its hash and count say.
    const plan = (await incident(incidentId)).plan as NonNullable<Incident['plan']>;
    const effects = await storedRows(incidentId, 'EFFECT', plan);
    expect(effects).toHaveLength(plan.effectCount);
    expect(hashOf(effects)).toBe(plan.effectsHash);
    const approved = plan.totals.find((t) => t.kind === 'credit');
    expect(approved?.count).toBe(3);
    const each = (approved?.minor ?? 0) / 3;

    await done(link, 'submit-plan');
    await inPhase(link, 'Decide');
    await approveRound(stack, incidentId);
    await resolvedCase(stack, incidentId, 90_000);

    // At the provider: each customer credited once, with the approved amount.
    const stripe: Stripe = stripeClient('sk_test_races', { apiBase: stack.endpoints.stripe });
    for (const row of customers.split('\n').slice(1)) {
      const [ref, , , , , , charge] = row.split(',');
      const { customer } = await stripe.charges.retrieve(charge as string);
      const credits = (await stripe.customers.listBalanceTransactions(customer as string)).data.map(
        (t) => -t.amount,
      );
      expect(credits, `credits of ${ref}`).toEqual([each]);
    }
  }, 180_000);

  it('refuses a list whose amounts cannot be stored, before writing, and the next list stands alone', async () => {
    const { incidentId, link } = await toUnderstand();
    const failing = await work(
      link,
      'customers',
      [
        HEADER,
        'cus_a,a@example.com,A,12.50,EUR,payments,ch_a',
        'cus_b,b@example.com,B,90071992547409.91,EUR,payments,ch_b',
        'cus_c,c@example.com,C,1.00,EUR,payments,ch_c',
        'cus_d,d@example.com,D,2.00,EUR,payments,ch_d',
      ].join('\n'),
    );
    expect(failing.status).toBe(400);
    expect(JSON.stringify(failing.body)).toMatch(/line 3/);
    expect(JSON.stringify(failing.body)).toMatch(/amount/);
    expect((await incident(incidentId)).customerList).toBeUndefined();

    await done(link, 'customers', [HEADER, 'cus_z,z@example.com,Z,3.00,EUR,payments,ch_z'].join('\n'));
    await done(link, 'plan', {
      summary: 'Refund what was charged twice.',
      apply: [{ kind: 'refund', amount: 'affected', obligation: 'tos' }],
      effects: [],
    });
    const planned = await incident(incidentId);
    const plan = planned.plan as NonNullable<Incident['plan']>;
    expect(plan.effectCount).toBe(1);
    const effects = await storedRows(incidentId, 'EFFECT', plan);
    expect(effects.map((e) => e.customerRef)).toEqual(['cus_z']);
    expect(hashOf(effects)).toBe(plan.effectsHash);
    const customers = await storedRows(incidentId, 'CUSTOMER', planned.customerList as { version: number });
    expect(customers.map((c) => c.customerRef)).toEqual(['cus_z']);
  }, 120_000);
});
