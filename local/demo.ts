/**
 * `npm run demo`: sends the sample Alertmanager notification to the running local stack, as
 * Alertmanager would (POST with a bearer token), and says where to look next.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const rootDir = join(import.meta.dirname, '..');
const dataDir = process.env.CASEBOOK_DATA_DIR ?? join(rootDir, '.casebook');
const api = process.env.CASEBOOK_API_URL ?? `http://127.0.0.1:${process.env.CASEBOOK_API_PORT ?? 3000}`;
const tokenFile = join(dataDir, 'alertmanager-token');
const token =
  process.env.CASEBOOK_ALERTMANAGER_TOKEN ??
  (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
if (!token) {
  console.error(
    `No webhook token: set CASEBOOK_ALERTMANAGER_TOKEN or start the stack once (npm start) to create ${tokenFile}.`,
  );
  process.exit(1);
}
const payloadFile = process.argv[2] ?? join(rootDir, 'test/fixtures/alertmanager/double-charge.json');
const response = await fetch(`${api}/webhooks/alertmanager`, {
  method: 'POST',
  headers: {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'user-agent': 'Alertmanager/0.28.1',
  },
  body: readFileSync(payloadFile),
}).catch((error: Error) => {
  console.error(`Could not reach ${api}: ${error.message}. Is npm start running?`);
  process.exit(1);
});
const body = await response.text();
console.log(`POST ${api}/webhooks/alertmanager → ${response.status}\n${body}`);
if (response.ok) {
  const { incidentId } = JSON.parse(body) as { incidentId?: string };
  if (incidentId) {
    console.log(`\nThe case:        ${api}/incidents/${incidentId}`);
    console.log(
      `In the console:  ${api}/console/incidents/${incidentId} (sign in as anyone: ${api}/auth/login?login_hint=you@example.com)`,
    );
    console.log(
      `Invitations:     http://127.0.0.1:${process.env.CASEBOOK_SES_PORT ?? 8005} (open the responder's workroom link: acknowledge, contain, assess, plan)`,
    );
  }
}
