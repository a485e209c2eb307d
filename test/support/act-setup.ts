/**
 * An incident taken straight to Decide on a running stack — customers and a sealed plan written to
 * its tables as the workroom would, then its execution started at Decide — and every approver of
 * round 1 approving: what end-to-end tests of Act need before Act runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { pseudonymizer } from '../../functions/adapters/pseudonyms.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import type { Customer } from '../../functions/domain/plan.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { plainIncident } from './incidents.ts';
import type { StackEndpoints } from './local-stack.ts';
import { approvalLinks, approve, inbox, waitFor } from './local-stack.ts';

type PlanInput = Parameters<typeof submitPlan>[2];

/**
 * An incident to take to Act: `plainIncident(n)` under `id` and a correlation key of its own (so
 * tests sharing a stack never correlate), detected now (so no deadline has passed on arrival).
 */
export function incidentForAct(
  n: number,
  id: string,
  correlationKey: string,
  more: Partial<Incident> = {},
): Incident {
  return { ...plainIncident(n), id, correlationKey, detectedAt: new Date().toISOString(), ...more };
}

/** A plan that only apologises: the apology template's notice to every customer on the list. */
export function apologyPlan(summary: string): PlanInput {
  return { summary, apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }], effects: [] };
}

/** Writes `incident`, its customers and `plan`, starts its execution at Decide, and approves round 1. */
export async function approvedForAct(
  stack: StackEndpoints,
  dataDir: string,
  incident: Incident,
  customers: readonly Customer[],
  plan: PlanInput,
): Promise<void> {
  const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }));
  const store = new DynamoDbOperationsStore(db, stack.tables.operations);
  const effects = new DynamoDbEffectStore(db, stack.tables.operations);
  await store.createIncident(incident);
  await recordCustomers({ effects, incidents: store }, incident, customers);
  const pseudonym = pseudonymizer({
    kind: 'value',
    value: readFileSync(join(dataDir, 'keys', 'pseudonym.key'), 'utf8').trim(),
  });
  await submitPlan(
    { incidents: store, effects, pseudonym, clock: { now: () => new Date() } },
    incident.id,
    plan,
    'sre@example.com',
  );
  db.destroy();
  const sfn = new SFNClient({ ...aws, endpoint: stack.endpoints.stepFunctions });
  await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: incident.id,
      input: JSON.stringify({ incidentId: incident.id, resumeFrom: 'Decide' }),
    }),
  );
  sfn.destroy();
  for (const [role, link] of await approvalLinks(stack, incident.id, 1)) {
    const res = await approve(link, `ok from ${role}`);
    if (res.status !== 303) throw new Error(`approving as ${role} answered ${res.status}`);
  }
}

/**
 * Customers who each paid `minor` cents in euros by card through `stripe` (the local stand-in), as
 * the plan's customer list names them: `<name>@example.com`, the charge as their payment.
 */
export async function paidCustomers(
  stripe: Stripe,
  who: readonly { ref: string; name: string; minor: number; paidAt?: string }[],
): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (const { ref, name, minor, paidAt } of who) {
    const email = `${name.toLowerCase()}@example.com`;
    const customer = await stripe.customers.create({ email });
    const charge = await stripe.charges.create({
      amount: minor,
      currency: 'eur',
      source: 'tok_visa',
      customer: customer.id,
    });
    customers.push({
      customerRef: ref,
      name,
      email,
      amount: { minor, currency: 'EUR' },
      paymentRef: charge.id,
      ...(paidAt ? { paidAt } : {}),
    });
  }
  return customers;
}

/** Ada, Bo and Cy, who each paid 20.00 EUR. */
export const THREE_PAYING = [
  { ref: 'cus_ada', name: 'Ada', minor: 2000 },
  { ref: 'cus_bo', name: 'Bo', minor: 2000 },
  { ref: 'cus_cy', name: 'Cy', minor: 2000 },
] as const;

/** The link in the responders' question about a bounced notice, once the question is in the SES inbox. */
export async function bouncedQuestionLink(stack: StackEndpoints, timeoutMs = 120_000): Promise<string> {
  const question = await waitFor(
    'the question about the bounce',
    async () =>
      (await inbox(stack)).find(
        (m) => m.destination.to.includes('responder@casebook.local') && m.subject.includes('(bounced)'),
      ),
    timeoutMs,
  );
  const link = /(http:\/\/\S+\/effects\/\S+)/.exec(question.body.text ?? '')?.[1];
  if (!link) throw new Error(`the question about the bounce has no link: ${question.body.text}`);
  return link;
}
