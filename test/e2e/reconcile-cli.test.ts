/**
 * `casebook reconcile` against `npm start`, in local mode, as finance runs it: refunds made at the
 * Stripe stand-in through the official SDK, refunds recorded by hand on an incident's ledger, and
 * the month reconciled through the CLI in a process of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reconciliation } from '../../functions/domain/reconciliation.ts';
import type { LocalPorts, LocalStack } from '../../local/stack.ts';
import { casebook } from '../support/cli.ts';
import { freePorts, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let ports: LocalPorts;
let dataDir: string;
let stripe: Stripe;
let incidentId: string;
const period = new Date().toISOString().slice(0, 7);

async function recordRefund(
  providerRef: string,
  amount: string,
  key: string,
  kind: 'refund' | 'credit' = 'refund',
): Promise<void> {
  const res = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/ledger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({
      ...legalFee,
      kind,
      amount,
      currency: 'EUR',
      providerRef,
      customerRef: 'cus_reconcile_1',
      reason: 'Refunded by support in the Stripe dashboard for the double charge.',
    }),
  });
  expect(res.status).toBe(201);
}

const user = () => ({
  CASEBOOK_DATA_DIR: dataDir,
  CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
  CASEBOOK_S3_PORT: String(ports.s3),
  CASEBOOK_STRIPE_PORT: String(ports.stripe),
});

let settled: Stripe.Refund;
let failing: Stripe.Refund;
let ghost: Stripe.Refund;
let support: Stripe.Refund;
/** Goodwill credits: customer balance transactions, named `cus_…/cbtxn_…` as Casebook names them. */
let creditRef: string;
let ghostCreditRef: string;

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  stack = await start(dataDir, ports);
  const url = new URL(stack.endpoints.stripe);
  stripe = new Stripe('sk_test_casebook_reconcile', {
    host: url.hostname,
    port: url.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const res = await postAlert(stack, sample);
  expect(res.status).toBe(201);
  incidentId = ((await res.json()) as { incidentId: string }).incidentId;

  const paid = await stripe.charges.create({ amount: 5000, currency: 'eur', source: 'tok_visa' });
  // A card whose refunds look succeeded first and fail later, as in Stripe's test mode.
  const closedCard = await stripe.charges.create({ amount: 5000, currency: 'eur', source: 'tok_refundFail' });
  settled = await stripe.refunds.create({ charge: paid.id, amount: 1200 });
  failing = await stripe.refunds.create({ charge: closedCard.id, amount: 800 });
  ghost = await stripe.refunds.create({
    charge: paid.id,
    amount: 300,
    metadata: { casebook_effect_key: `${incidentId}:P9-E9:1` },
  });
  support = await stripe.refunds.create({ charge: paid.id, amount: 100, metadata: { ticket: 'T-1' } });
  // Credits: one recorded by hand for less than was given, one with Casebook's key the ledger
  // lacks, and a support agent's own.
  const customer = await stripe.customers.create({ email: 'reconcile@example.com' });
  const given = await stripe.customers.createBalanceTransaction(customer.id, {
    amount: -450,
    currency: 'eur',
  });
  const ghostCredit = await stripe.customers.createBalanceTransaction(customer.id, {
    amount: -250,
    currency: 'eur',
    metadata: { casebook_effect_key: `${incidentId}:P9-E8:1` },
  });
  await stripe.customers.createBalanceTransaction(customer.id, { amount: -99, currency: 'eur' });
  creditRef = `${customer.id}/${given.id}`;
  ghostCreditRef = `${customer.id}/${ghostCredit.id}`;
  await recordRefund(creditRef, '5.00', 'credit-by-hand', 'credit');
  await recordRefund(settled.id, '12.00', 'refund-settled');
  await recordRefund(failing.id, '8.00', 'refund-failing');
  await waitFor('the closed card’s refund to fail', async () =>
    (await stripe.refunds.retrieve(failing.id)).status === 'failed' ? true : undefined,
  );
  await waitFor('the settled refund', async () =>
    (await stripe.refunds.retrieve(settled.id)).status === 'succeeded' ? true : undefined,
  );
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('casebook reconcile against a running npm start', () => {
  it('names the failed refund and the one missing from the ledger, matches the manual one, leaves support refunds alone', async () => {
    const { code, stdout, stderr } = await casebook(['reconcile', '--period', period, '--json'], user());
    expect(stderr).toBe('');
    const result = JSON.parse(stdout) as Reconciliation & { period: string };
    expect(result.period).toBe(period);
    expect(result.matched).toBe(3);
    expect(result.unrelated).toBe(2);
    expect(result.differences.map((d) => [d.kind, d.providerId])).toEqual([
      ['amount-differs', creditRef],
      ['failed-after-confirmed', failing.id],
      ['missing-from-ledger', ghost.id],
      ['missing-from-ledger', ghostCreditRef],
    ]);
    expect(result.differences[0]).toMatchObject({
      incidentId,
      ledger: { state: 'confirmed', amountMinor: 500, currency: 'EUR' },
      provider: { state: 'succeeded', amountMinor: 450, currency: 'EUR' },
    });
    expect(result.differences[3]).toMatchObject({
      incidentId,
      effectId: 'P9-E8',
      provider: { amountMinor: 250 },
      detail: expect.stringContaining('no such credit this month'),
    });
    expect(result.differences[1]).toMatchObject({
      incidentId,
      ledger: { state: 'confirmed', amountMinor: 800, currency: 'EUR' },
      provider: { state: 'failed', amountMinor: 800, currency: 'EUR' },
    });
    expect(result.differences[2]).toMatchObject({
      incidentId,
      effectId: 'P9-E9',
      provider: { amountMinor: 300 },
    });
    expect(JSON.stringify(result)).not.toContain(support.id);
    expect(code).toBe(1);
  });

  it('prints one line per difference and a summary', async () => {
    const { code, stdout } = await casebook(['reconcile', '--period', period], user());
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(new RegExp(`^amount-differs: ${incidentId} .*${creditRef}`)),
      expect.stringMatching(new RegExp(`^failed-after-confirmed: ${incidentId} .*${failing.id}`)),
      expect.stringMatching(new RegExp(`^missing-from-ledger: ${incidentId} P9-E9 ${ghost.id}`)),
      expect.stringMatching(new RegExp(`^missing-from-ledger: ${incidentId} P9-E8 ${ghostCreditRef}`)),
      `${period}: 3 refund(s) and credit(s) matched, 4 difference(s), 2 unrelated provider refund(s) and credit(s) not Casebook's.`,
    ]);
    expect(code).toBe(1);
  });

  it('a month with nothing to explain reconciles: exit 0', async () => {
    const { code, stdout } = await casebook(['reconcile', '--period', '2026-01'], user());
    expect(stdout).toBe(
      "2026-01: 0 refund(s) and credit(s) matched, 0 difference(s), 0 unrelated provider refund(s) and credit(s) not Casebook's.\n",
    );
    expect(code).toBe(0);
  });
});
