/**
 * `casebook reconcile --period YYYY-MM`: the ledger's refunds of a month against the payment
 * provider's, through the official `stripe` SDK (refunds created in the month, and their balance
 * transactions for the fees). Exit 1 when anything does not reconcile, 0 when the month does, 2
 * on a bad request (a malformed or future month, no provider to ask).
 *
 * The ledger side is the month's `ledger/v1` rows, built from the tables exactly as the export
 * builds them (an entry's month is when it was recorded); the provider side is what Stripe created
 * in the same month.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import type Stripe from 'stripe';
import { loadConfig, paymentsConfig } from '../functions/adapters/config.ts';
import { DynamoDbLedgerExportSource } from '../functions/adapters/dynamodb-ledger-export.ts';
import {
  configuredStripeClient,
  EFFECT_KEY_METADATA,
  stripeClient,
} from '../functions/adapters/stripe-payments.ts';
import type { LedgerRow, Period } from '../functions/domain/ledger-export.ts';
import { isPeriod, LedgerRowBuilder, periodBounds } from '../functions/domain/ledger-export.ts';
import type { PaymentState } from '../functions/domain/payments.ts';
import type { ProviderMovement } from '../functions/domain/reconciliation.ts';
import { differenceLine, reconcile } from '../functions/domain/reconciliation.ts';
import { ENV } from '../functions/env-names.ts';
import { PORTS, portsFromEnvironment } from '../local/names.ts';

interface ReconcileTarget {
  readonly db: DynamoDBDocumentClient;
  readonly ledgerTable: string;
  readonly operationsTable?: string;
}

interface ReconcileOptions {
  readonly period: string;
  readonly table?: string;
  readonly json?: boolean;
}

/** A request that cannot be carried out as asked: one line, exit 2. */
export class ReconcileRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileRequestError';
  }
}

/** The key npm start gives its Stripe stand-in (local/stack.ts). */
const LOCAL_STRIPE_KEY = 'sk_test_casebook_local';

/** The month asked for, refused when malformed or not begun yet. */
export function reconciledPeriod(value: string, now: Date = new Date()): Period {
  if (!isPeriod(value)) throw new ReconcileRequestError(`--period ${value} is not a month: write it YYYY-MM`);
  if (periodBounds(value).start > now.toISOString())
    throw new ReconcileRequestError(`--period ${value} has not begun: nothing to reconcile yet`);
  return value;
}

/** The Stripe client to ask: the local stand-in, or the configured provider on AWS. */
function providerClient(local: boolean, env: NodeJS.ProcessEnv): () => Promise<Stripe> {
  const provider = env[ENV.paymentsProvider] ?? (local ? 'stripe' : undefined);
  if (provider === 'manual')
    throw new ReconcileRequestError(
      `${ENV.paymentsProvider} is manual: refunds are made by hand, there is no provider to reconcile with`,
    );
  if (local) {
    const { stripe } = portsFromEnvironment({ [PORTS.stripe.variable]: env[PORTS.stripe.variable] });
    const client = stripeClient(LOCAL_STRIPE_KEY, { apiBase: `http://127.0.0.1:${stripe}` });
    return () => Promise.resolve(client);
  }
  if (!provider)
    throw new ReconcileRequestError(`no payments provider: set ${ENV.paymentsProvider} (stripe) and its key`);
  let config: ReturnType<typeof loadConfig<[typeof paymentsConfig]>>;
  try {
    config = loadConfig([paymentsConfig], env);
  } catch (error) {
    throw new ReconcileRequestError((error as Error).message);
  }
  if (config.payments.provider !== 'stripe') throw new ReconcileRequestError('no payments provider to ask');
  return configuredStripeClient(config.payments);
}

/** The month's `ledger/v1` rows, as the export builds them (corrections resolved over the whole chain). */
async function ledgerRowsOf(t: ReconcileTarget, period: Period): Promise<LedgerRow[]> {
  if (!t.operationsTable) throw new ReconcileRequestError('reconcile needs --operations-table on AWS');
  const { start, end } = periodBounds(period);
  const source = new DynamoDbLedgerExportSource(t.db, {
    operationsTable: t.operationsTable,
    ledgerTable: t.ledgerTable,
  });
  const rows: LedgerRow[] = [];
  for (const incident of await source.incidentsDetectedBefore(end)) {
    const builder = new LedgerRowBuilder(incident);
    for await (const page of source.entryPages(incident.id))
      for (const entry of page) {
        const row = builder.add(entry);
        if (row && row.at >= start && row.at < end) rows.push(row);
      }
  }
  return rows;
}

const STATES: Readonly<Record<string, PaymentState>> = {
  pending: 'pending',
  requires_action: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'failed',
};

/** Stripe's refunds created in the month, each with its balance transaction's fee and net. */
export async function providerRefunds(stripe: Stripe, period: Period): Promise<ProviderMovement[]> {
  const { start, end } = periodBounds(period);
  const created = { gte: Date.parse(start) / 1000, lt: Date.parse(end) / 1000 };
  const transactions = new Map<string, Stripe.BalanceTransaction>();
  for await (const bt of stripe.balanceTransactions.list({ created, type: 'refund', limit: 100 }))
    transactions.set(bt.id, bt);
  const movements: ProviderMovement[] = [];
  for await (const refund of stripe.refunds.list({ created, limit: 100 })) {
    const btId =
      typeof refund.balance_transaction === 'string'
        ? refund.balance_transaction
        : refund.balance_transaction?.id;
    // A refund settled after the month's listing began may have a transaction not listed above.
    const bt = btId
      ? (transactions.get(btId) ?? (await stripe.balanceTransactions.retrieve(btId)))
      : undefined;
    const key = refund.metadata?.[EFFECT_KEY_METADATA];
    movements.push({
      id: refund.id,
      kind: 'refund',
      amountMinor: refund.amount,
      currency: refund.currency,
      state: STATES[refund.status ?? 'pending'] ?? 'pending',
      ...(refund.failure_reason ? { failureReason: refund.failure_reason } : {}),
      ...(key ? { effectKey: key } : {}),
      ...(bt ? { feeMinor: bt.fee, netMinor: bt.net } : {}),
    });
  }
  return movements;
}

/**
 * Stripe's goodwill credits created in the month: customer balance transactions with a negative
 * amount (a credit to the customer), listed per customer — Stripe has no account-wide list of them.
 * Each is named as Casebook names it, `cus_…/cbtxn_…`; a credit is applied at once and carries no
 * fee of its own.
 */
export async function providerCredits(stripe: Stripe, period: Period): Promise<ProviderMovement[]> {
  const { start, end } = periodBounds(period);
  const created = { gte: Date.parse(start) / 1000, lt: Date.parse(end) / 1000 };
  const movements: ProviderMovement[] = [];
  // A customer made after the month cannot have been credited in it.
  for await (const customer of stripe.customers.list({ created: { lt: created.lt }, limit: 100 })) {
    for await (const bt of stripe.customers.listBalanceTransactions(customer.id, { created, limit: 100 })) {
      if (bt.amount >= 0) continue;
      const key = bt.metadata?.[EFFECT_KEY_METADATA];
      movements.push({
        id: `${customer.id}/${bt.id}`,
        kind: 'credit',
        amountMinor: -bt.amount,
        currency: bt.currency,
        state: 'succeeded',
        ...(key ? { effectKey: key } : {}),
      });
    }
  }
  return movements;
}

/** Adds `reconcile` to the program. */
export function addReconcileCommand(
  program: Command,
  tools: {
    readonly target: (options: never) => ReconcileTarget;
    readonly addTargetOptions: (command: Command) => Command;
  },
): void {
  tools
    .addTargetOptions(
      program
        .command('reconcile')
        .description(
          "compare the month's ledger refunds with the payment provider's; exit 1 on any difference, 0 when it reconciles",
        )
        .requiredOption('--period <YYYY-MM>', 'the month to reconcile')
        .option('--json', 'print the reconciliation as JSON'),
    )
    .action(async (options: ReconcileOptions) => {
      const period = reconciledPeriod(options.period);
      const env = process.env;
      const local = !(options.table ?? env[ENV.ledgerTable]);
      const client = providerClient(local, { ...env });
      const t = tools.target(options as never);
      const rows = await ledgerRowsOf(t, period);
      const stripe = await client();
      const provider = [
        ...(await providerRefunds(stripe, period)),
        ...(await providerCredits(stripe, period)),
      ];
      const result = reconcile(rows, provider, ['refund', 'credit']);
      if (options.json) console.log(JSON.stringify({ period, ...result }, null, 2));
      else {
        for (const d of result.differences) console.log(differenceLine(d));
        console.log(
          `${period}: ${result.matched} refund(s) and credit(s) matched, ${result.differences.length} difference(s), ${result.unrelated} unrelated provider refund(s) and credit(s) not Casebook's.`,
        );
      }
      process.exitCode = result.differences.length === 0 ? 0 : 1;
    });
}
