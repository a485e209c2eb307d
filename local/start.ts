/**
 * `npm start`: runs the whole system locally in the foreground until Ctrl-C. Data lives under
 * `.casebook/` and survives restarts; ports come from the environment (see README).
 */
import { join } from 'node:path';
import { ROUTES } from '../functions/routes.ts';
import { LOCAL_BUCKETS } from './names.ts';
import { portsFromEnvironment, startLocalStack } from './stack.ts';

const rootDir = join(import.meta.dirname, '..');
const dataDir = process.env.CASEBOOK_DATA_DIR ?? join(rootDir, '.casebook');
const quiet = process.argv.includes('--quiet');

const stack = await startLocalStack({
  rootDir,
  dataDir,
  ports: portsFromEnvironment(),
  ...(process.env.CASEBOOK_ALERTMANAGER_TOKEN
    ? { alertmanagerToken: process.env.CASEBOOK_ALERTMANAGER_TOKEN }
    : {}),
  signingSecrets: {
    ...(process.env.CASEBOOK_GRAFANA_SECRET ? { grafana: process.env.CASEBOOK_GRAFANA_SECRET } : {}),
    ...(process.env.CASEBOOK_PAGERDUTY_SECRET ? { pagerduty: process.env.CASEBOOK_PAGERDUTY_SECRET } : {}),
    ...(process.env.CASEBOOK_GENERIC_SECRET ? { generic: process.env.CASEBOOK_GENERIC_SECRET } : {}),
  },
  ...(process.env.CASEBOOK_PUBLIC_BASE_URL ? { publicBaseUrl: process.env.CASEBOOK_PUBLIC_BASE_URL } : {}),
  handlerLogLevel: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  log: quiet ? undefined : (line) => console.log(`  ${line}`),
}).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

const { endpoints } = stack;
console.log(`
Casebook is running locally. Ctrl-C stops it; data stays in ${dataDir}.

  API (HTTP API)   ${endpoints.api}
${ROUTES.map((r) => `                     ${r.method.padEnd(4)} ${r.path}`).join('\n')}
  SES inbox        ${endpoints.sesInbox}    (open it in a browser: approval emails and customer notices land here)
  DynamoDB         ${endpoints.dynamodb}    tables ${stack.tables.operations}, ${stack.tables.ledger}
  Step Functions   ${endpoints.stepFunctions}    ${stack.stateMachineArn}
  S3               ${endpoints.s3}    buckets ${Object.values(LOCAL_BUCKETS).join(', ')} (key pair S3RVER/S3RVER)
  Stripe           ${endpoints.stripe}    (Stripe API stand-in; any sk_test_… key)
  Console          ${endpoints.api}/    (sign in as anyone: ${endpoints.api}/auth/login?login_hint=you@example.com)
  OpenID issuer    ${endpoints.oidc}    (oauth2-mock-server, see local/oidc/README.md)

  Webhook token    ${stack.alertmanagerTokenFile ? `in ${stack.alertmanagerTokenFile}` : 'from CASEBOOK_ALERTMANAGER_TOKEN'}
${Object.entries(stack.signingSecrets)
  .map(
    ([source, { file }]) =>
      `  ${`${source[0]?.toUpperCase()}${source.slice(1)} secret`.padEnd(17)}${file ? `in ${file}` : `from CASEBOOK_${source.toUpperCase()}_SECRET`}`,
  )
  .join('\n')}
  Try it           npm run demo   (sends test/fixtures/alertmanager/double-charge.json)
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping Casebook…`);
  await stack.close();
  console.log('Stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
