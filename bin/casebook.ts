import { App } from 'aws-cdk-lib';
import { addCasebookChecks } from '../lib/checks.ts';
import { CasebookStatefulStack } from '../lib/stateful-stack.ts';
import { CasebookStatelessStack } from '../lib/stateless-stack.ts';

// Environment-agnostic on purpose: synth needs no credentials and makes no lookups; the account
// and region come from whoever deploys.
const app = new App();
addCasebookChecks(app);
const stateful = new CasebookStatefulStack(app, 'CasebookStateful', {
  description:
    'Casebook: ledger, operational table, ledger exports, alert payload archive and webhook secret (retained)',
});
new CasebookStatelessStack(app, 'CasebookStateless', {
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
