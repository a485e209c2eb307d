import type { App } from 'aws-cdk-lib';
import { CasebookStatefulStack } from './stateful-stack.ts';
import { CasebookStatelessStack } from './stateless-stack.ts';

/** Casebook's two stacks in `app`: what is kept (tables, keys, buckets, secrets) and what is not. */
export function addCasebookStacks(app: App): {
  readonly stateful: CasebookStatefulStack;
  readonly stateless: CasebookStatelessStack;
} {
  const stateful = new CasebookStatefulStack(app, 'CasebookStateful', {
    description: 'Casebook: ledger, operational table, ledger keys, buckets and secrets (retained)',
  });
  const stateless = new CasebookStatelessStack(app, 'CasebookStateless', {
    description: 'Casebook: functions, incident lifecycle state machine and HTTP API',
    ledgerTable: stateful.ledgerTable,
    operationsTable: stateful.operationsTable,
    alertmanagerTokenSecret: stateful.alertmanagerTokenSecret,
    webhookSigningSecrets: stateful.webhookSigningSecrets,
    ledgerSealKey: stateful.ledgerSealKey,
    ledgerSigningKey: stateful.ledgerSigningKey,
    anchorBucket: stateful.anchorBucket,
    pseudonymKeySecret: stateful.pseudonymKeySecret,
    stripeApiKeySecret: stateful.stripeApiKeySecret,
    payloadBucket: stateful.payloadBucket,
    exportBucket: stateful.exportBucket,
  });
  return { stateful, stateless };
}
