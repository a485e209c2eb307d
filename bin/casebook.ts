import { App } from 'aws-cdk-lib';
import { addCasebookStacks } from '../lib/casebook-app.ts';
import { addCasebookChecks } from '../lib/checks.ts';

// Environment-agnostic on purpose: synth needs no credentials and makes no lookups; the account
// and region come from whoever deploys.
const app = new App();
addCasebookChecks(app);
addCasebookStacks(app);
