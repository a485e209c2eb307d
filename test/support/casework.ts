/**
 * Driving an incident through its workroom the way people do: the links come from the invitation
 * e-mails in the SES emulator's store, and every action is an HTTP POST to `/work/{linkId}/{action}`.
 */
import type { submitPlan } from '../../functions/use-cases/propose-plan.ts';
import type { CaseJson, StackEndpoints } from './local-stack.ts';
import { approvalLinks, approve, getCase, inbox, postAlert, waitFor } from './local-stack.ts';

/** The local stack's people (local/stack.ts defaults). */
export const RESPONDER = 'responder@casebook.local';
export const SRE_LEAD = 'sre-lead@casebook.local';

/** Workroom links from the invitations about `incidentId`, by the address each went to. */
export async function workLinks(
  stack: StackEndpoints,
  incidentId: string,
  count = 2,
): Promise<Map<string, string>> {
  return waitFor(`${count} workroom invitations for ${incidentId}`, async () => {
    const links = new Map<string, string>();
    for (const email of await inbox(stack)) {
      const m = new RegExp(`(http://\\S+/work/${incidentId}\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{43})`).exec(
        email.body.text ?? '',
      );
      const to = email.destination.to[0];
      if (m?.[1] && to) links.set(to, m[1]);
    }
    return links.size >= count ? links : undefined;
  });
}

export interface WorkAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs an action as JSON (or a CSV customer list) and reads the JSON answer. */
export async function work(link: string, action: string, body: unknown = {}): Promise<WorkAnswer> {
  const csv = typeof body === 'string';
  const res = await fetch(`${link}/${action}`, {
    method: 'POST',
    headers: { 'content-type': csv ? 'text/csv' : 'application/json', accept: 'application/json' },
    body: csv ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Like {@link work}, but fails the test unless the action was recorded. */
export async function done(link: string, action: string, body: unknown = {}): Promise<WorkAnswer> {
  const answer = await work(link, action, body);
  if (answer.status !== 200)
    throw new Error(`${action} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer;
}

/** The workroom as JSON. */
export async function workroom(
  link: string,
): Promise<Record<string, unknown> & { incident: { phase: string; status: string } }> {
  const res = await fetch(link, { headers: { accept: 'application/json' } });
  if (res.status !== 200) throw new Error(`GET ${link} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown> & { incident: { phase: string; status: string } };
}

/** Waits until the incident is in `phase` (seen through the workroom). */
export function inPhase(link: string, phase: string, timeoutMs = 20_000): Promise<true> {
  return waitFor(
    `the incident to reach ${phase}`,
    async () => ((await workroom(link)).incident.phase === phase ? true : undefined),
    timeoutMs,
  );
}

/** Three customers in two currencies, each with a payment to refund and an address to notify. */
export const THREE_CUSTOMERS = [
  'customer_ref,email,name,amount,currency,product_area,payment_ref',
  'cus_ada,ada@example.com,Ada Lovelace,12.50,EUR,payments,ch_ada_001',
  'cus_grace,grace@example.com,Grace Hopper,1200,JPY,payments,ch_grace_001',
  'cus_alan,alan@example.com,Alan Turing,7.25,EUR,payments,ch_alan_001',
].join('\n');

/** Refund what each was charged twice (ToS), a goodwill credit (brand), and an apology. */
export const REFUND_CREDIT_NOTICE: Parameters<typeof submitPlan>[2] = {
  summary: 'Refund the double charge, add a goodwill credit, and apologise.',
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' },
    { kind: 'notice', obligation: 'brand', template: 'apology' },
  ],
  effects: [],
};

/**
 * Takes an open incident from Detect to a submitted plan: acknowledge, contain (one RISKY action),
 * assess the impact, list the customers, write and submit the plan.
 */
export async function workToDecide(
  link: string,
  customers: string = THREE_CUSTOMERS,
  plan: unknown = REFUND_CREDIT_NOTICE,
  options: { readonly beforeSubmit?: () => Promise<unknown> } = {},
): Promise<void> {
  await done(link, 'acknowledge');
  await done(link, 'contain', {
    actions: [
      {
        description: 'Feature flag payments.retry-with-backoff turned off',
        safety: 'SAFE_REVERSIBLE',
        world: 'RML2',
      },
      { description: 'Settlement batch 2026-11-22 held back', safety: 'RISKY', world: 'RML3' },
    ],
    contained: true,
  });
  await inPhase(link, 'Understand');
  await done(link, 'impact', {
    users: 3,
    transactions: 3,
    assets: ['money'],
    from: '2026-11-22T10:23:00Z',
    to: '2026-11-22T11:05:00Z',
    summary: 'Three settled payments were charged twice.',
  });
  await done(link, 'customers', customers);
  await done(link, 'plan', plan);
  await options.beforeSubmit?.();
  await done(link, 'submit-plan');
}

/** Approves the round from the approval e-mails: every role the round asks. */
export async function approveRound(stack: StackEndpoints, incidentId: string, round = 1): Promise<void> {
  for (const [role, link] of await approvalLinks(stack, incidentId, round)) {
    const res = await approve(link, `ok from ${role}`);
    if (res.status !== 303) throw new Error(`approval by ${role} answered ${res.status}`);
  }
}

/** A postmortem in seed 003's form. */
export const POSTMORTEM = {
  title: 'Double charge after retry without idempotency keys',
  summary: 'Three payments were settled twice between 10:23 and 11:05 UTC.',
  rootCause: 'Retries of the settlement call carried no idempotency key.',
  contributingFactors: ['No alert on settlement duplicates until the ledger reconciliation ran'],
  whatWentWell: ['The kill switch stopped new duplicates within minutes'],
  lessons: {
    technical: ['Every settlement call carries an idempotency key'],
    process: ['Reconcile settlements hourly, not daily'],
    governance: ['Goodwill credits above EUR 5 need Business sign-off in advance'],
  },
  actionItems: [
    { item: 'Add idempotency keys to settlement retries', owner: 'payments team', due: '2026-12-15' },
  ],
};

/**
 * Charges each customer of a CSV list through the Stripe stand-in (a Stripe customer with the
 * list's e-mail, a charge of the list's amount) and answers the list with the real charge ids as
 * `payment_ref`, so refunds and credits go back to payments the stand-in knows.
 */
export async function chargedCustomers(stack: StackEndpoints, csv: string): Promise<string> {
  const { default: Stripe } = await import('stripe');
  const url = new URL(stack.endpoints.stripe);
  const stripe = new Stripe('sk_test_casebook_local', {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const [header, ...rows] = csv.split('\n');
  const out = [header];
  for (const row of rows) {
    const [ref, email, name, amount, currency, area] = row.split(',');
    const zeroDecimal = currency === 'JPY';
    const minor = zeroDecimal ? Number(amount) : Math.round(Number(amount) * 100);
    const customer = await stripe.customers.create({ email: email ?? '', name: name ?? '' });
    const charge = await stripe.charges.create({
      amount: minor,
      currency: (currency ?? 'eur').toLowerCase(),
      customer: customer.id,
      source: 'tok_visa',
    });
    out.push([ref, email, name, amount, currency, area, charge.id].join(','));
  }
  return out.join('\n');
}

/** The customers the sample alert is about, with nothing to refund: an apology is the whole plan. */
export const TWO_CUSTOMERS = [
  'customer_ref,email,name,amount,currency,product_area,payment_ref',
  'cus_ada,ada@example.com,Ada Lovelace,,,payments,',
  'cus_grace,grace@example.com,Grace Hopper,,,payments,',
].join('\n');

export const APOLOGY = {
  summary: 'Apologise to every affected customer.',
  apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
  effects: [],
};

/** The plan revised after a request for changes: the apology, and a correction of what was sent (ToS). */
export const APOLOGY_AND_CORRECTION = {
  summary: 'Apologise to every affected customer and correct the receipt we sent them.',
  apply: [...APOLOGY.apply, { kind: 'notice', obligation: 'tos', template: 'correction' }],
  effects: [],
};

/** Once the incident is back in Understand, the responder writes the revised plan and submits it. */
export async function resubmitPlan(link: string, plan: unknown = APOLOGY_AND_CORRECTION): Promise<void> {
  await inPhase(link, 'Understand');
  await done(link, 'plan', plan);
  await done(link, 'submit-plan');
}

/** A roster whose Business approver has a backup, and SRE none: the small incident's two roles. */
export const ROSTER_WITH_BUSINESS_BACKUP = {
  approvers: {
    business: {
      primary: { email: 'bo@casebook.local', name: 'Bo Business' },
      backup: { email: 'bea@casebook.local', name: 'Bea Business' },
    },
    sre: { primary: { email: 'sam@casebook.local', name: 'Sam SRE' } },
  },
};

/**
 * Posts an alert that opens an incident and works it to Decide through the responder's link
 * (two customers, an apology): what used to take an alert alone. Answers the incident and the
 * responder's workroom link.
 */
export async function openedToDecide(
  stack: StackEndpoints,
  alertBody: string,
  customers: string = TWO_CUSTOMERS,
  plan: unknown = APOLOGY,
): Promise<{ incidentId: string; link: string }> {
  const res = await postAlert(stack, alertBody);
  if (res.status !== 201) throw new Error(`the alert answered ${res.status}: ${await res.text()}`);
  const { incidentId } = (await res.json()) as { incidentId: string };
  const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
  await workToDecide(link, customers, plan);
  return { incidentId, link };
}

/**
 * Waits for the incident to close, writing its postmortem through a workroom link (`link`, or the
 * responder's from the invitations in the inbox) once Learn asks for it; answers the closed case.
 */
export async function closeCase(
  stack: StackEndpoints,
  incidentId: string,
  options: { readonly link?: string; readonly timeoutMs?: number } = {},
): Promise<CaseJson> {
  const link = options.link ?? ((await workLinks(stack, incidentId)).get(RESPONDER) as string);
  let written = false;
  return waitFor(
    `${incidentId} to close`,
    async () => {
      const c = await getCase(stack, incidentId);
      // The close step ends by telling everyone; until that is on the timeline the case still moves.
      if (
        c.incident.status === 'CLOSED' &&
        c.timeline.some((e) => e.type === 'people_told' && e.summary.endsWith('the incident is closed'))
      )
        return c;
      if (!written && c.incident.phase === 'Learn') {
        written = (await work(link, 'postmortem', POSTMORTEM)).status === 200;
      }
      return undefined;
    },
    options.timeoutMs ?? 60_000,
  );
}
