/**
 * The plan form's notice text in the workroom, on DynamoDB (dynalite): an unknown placeholder is
 * a 400 naming it (as a page and as JSON) with nothing written; a good text is previewed for the
 * first customers with their own amounts, and a fresh form holds the alert's wording only as a
 * first draft.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { hashLinkSecret } from '../../functions/domain/approval.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { MailMessage } from '../../functions/domain/ports.ts';
import {
  formatWorkLinkId,
  newWorkLinkSecret,
  personKey,
  workLinkExpiry,
} from '../../functions/domain/work-link.ts';
import { recordCustomers } from '../../functions/use-cases/propose-plan.ts';
import { makeWorkroomHandler } from '../../functions/workroom/workroom.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';
import { plainIncident } from '../support/incidents.ts';

mockClient(SFNClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const LEAD = 'lead@example.com';

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const workroom = new DynamoDbWorkroom(db.doc, tables.operations);
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  const incident = {
    ...plainIncident(7),
    phase: 'Understand' as const,
    status: 'MITIGATED' as const,
    customerSummary: 'a payment you made on 22 November was charged twice.',
  };
  await store.createIncident(incident);
  await recordCustomers({ effects, incidents: store }, incident, [
    {
      customerRef: 'cus_1',
      email: 'ada@example.com',
      name: 'Ada',
      amount: { minor: 9873, currency: 'EUR' },
      paymentRef: 'ch_1',
      paidAt: '2026-12-06',
    },
    {
      customerRef: 'cus_2',
      email: 'lin@example.com',
      name: 'Lin',
      amount: { minor: 1250, currency: 'EUR' },
      paymentRef: 'ch_2',
      paidAt: '2026-12-05',
    },
  ]);
  const clock = testClock();
  const secret = newWorkLinkSecret();
  const link = {
    incidentId: incident.id,
    person: personKey(incident.id, LEAD),
    email: LEAD,
    role: 'sre_lead' as const,
    secretHash: hashLinkSecret(secret),
    issuedAt: clock.now().toISOString(),
    expiresAt: workLinkExpiry(clock.now()),
  };
  await workroom.putWorkLink(link);
  const handler = makeWorkroomHandler({
    incidents: store,
    links: workroom,
    postmortems: workroom,
    effects,
    approvals: store,
    ledger: db.ledger(tables.ledger),
    waits,
    questions: waits,
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' })),
    pseudonym: async (ref: string) => `cp_${ref}`,
    people: { sreLead: LEAD, responders: [LEAD] },
    mailer: { send: async (_: MailMessage) => ({ messageId: 'm' }) },
    policy: DEFAULT_DEADLINE_POLICY,
    clock,
  });
  const linkId = formatWorkLinkId({ ...link, secret });
  const post = (body: string, type: string, accept = 'text/html') =>
    handler(
      apiEvent({
        method: 'POST',
        path: `/work/${linkId}/plan`,
        routeKey: 'POST /work/{linkId}/{action}',
        pathParameters: { linkId, action: 'plan' },
        headers: { 'content-type': type, accept },
        body,
      }),
    );
  const view = async () =>
    String(
      (
        await handler(
          apiEvent({
            method: 'GET',
            path: `/work/${linkId}`,
            routeKey: 'GET /work/{linkId}',
            pathParameters: { linkId },
          }),
        )
      ).body,
    );
  return { store, incidentId: incident.id, post, view };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const RULES = {
  summary: 'Refund the double charge and tell them',
  kind_1: 'refund',
  amount_1: 'affected',
  obligation_1: 'tos',
  kind_2: 'credit',
  amount_2: '5.00',
  currency_2: 'EUR',
  obligation_2: 'brand',
  kind_3: 'notice',
  obligation_3: 'tos',
};

describe("the plan form's notice text", () => {
  it('answers 400 naming an unknown placeholder, as a page and as JSON, and writes nothing', async () => {
    const { store, incidentId, post } = await setup();
    const before = JSON.stringify(await store.getIncident(incidentId));
    const page = await post(
      form({
        ...RULES,
        notice_subject: 'Your refund',
        notice_body: 'We refunded {{amount}} on {{paid_at}}.',
      }),
      'application/x-www-form-urlencoded',
    );
    expect(page.statusCode).toBe(400);
    expect(String(page.body)).toContain(
      '<a href="#plan-notice_body">Body (a blank line between paragraphs)</a>: unknown placeholder {{amount}}',
    );
    // What was typed is shown again, to fix.
    expect(String(page.body)).toContain('We refunded {{amount}} on {{paid_at}}.</textarea>');
    const json = await post(
      JSON.stringify({
        summary: 'x',
        apply: [{ kind: 'notice', obligation: 'tos' }],
        effects: [],
        notice: { subject: 'Ref {{case}}', body: 'Hello' },
      }),
      'application/json',
      'application/json',
    );
    expect(json.statusCode).toBe(400);
    expect(JSON.parse(String(json.body)).issues).toEqual([
      { field: 'notice.subject', message: expect.stringContaining('unknown placeholder {{case}}') },
    ]);
    // A subject too long for one line, and an empty body, are named too.
    const long = await post(
      JSON.stringify({
        summary: 'x',
        apply: [{ kind: 'notice', obligation: 'tos' }],
        effects: [],
        notice: { subject: 'x'.repeat(201), body: ' ' },
      }),
      'application/json',
      'application/json',
    );
    expect(long.statusCode).toBe(400);
    expect(JSON.parse(String(long.body)).issues).toEqual([
      { field: 'notice.subject', message: 'must be at most 200 characters' },
      { field: 'notice.body', message: 'is required' },
    ]);
    expect(JSON.stringify(await store.getIncident(incidentId))).toBe(before);
  });

  it('offers the alert’s wording as a first draft, then previews the plan’s text for the first customers', async () => {
    const { store, incidentId, post, view } = await setup();
    const fresh = await view();
    expect(fresh).toContain('a payment you made on 22 November was charged twice.');
    expect(fresh).toContain('value="Your refund is on its way (ref {{incident}})"');
    // The list's payment dates are shown to the responders who word the notice.
    expect(fresh).toContain('<td data-label="Paid"><bdi>6 December 2026</bdi></td>');

    const body =
      'Hello {{name}},\n\nYou paid on {{paid_at}} and were charged twice. We refunded {{amount_refunded}}.';
    const res = await post(
      form({ ...RULES, notice_subject: 'Refund of {{amount_refunded}}', notice_body: body }),
      'application/x-www-form-urlencoded',
    );
    expect(res.statusCode).toBe(303);
    const plan = (await store.getIncident(incidentId))?.plan;
    expect(plan?.notice).toEqual({ subject: 'Refund of {{amount_refunded}}', body });
    const page = await view();
    expect(page).toContain('<h3>What the first customers receive</h3>');
    expect(page).toContain(
      'Hello Ada,\n\nYou paid on 6 December 2026 and were charged twice. We refunded EUR 98.73.\n\nWe have also added a goodwill credit of EUR 5.00 to your account',
    );
    expect(page).toContain('You paid on 5 December 2026 and were charged twice. We refunded EUR 12.50.');
    expect(page).not.toMatch(/22 November was charged twice.<\/bdi>/);
    // The form holds the plan's current text, not the draft.
    expect(page).toContain('value="Refund of {{amount_refunded}}"');
    // Money is refunds and credits: the notices' wording amounts are not summed into the lines.
    expect(page).toContain('<strong>ToS line</strong> EUR 111.23 · <strong>Brand line</strong> EUR 10.00');
  });
});
