/**
 * `npm run verify-ledger`: reads every entry of the ledger table and checks each incident's hash
 * chain — an edited entry, an inserted one or one removed from the middle is reported, and the
 * command exits 1. (A removed *last* entry leaves a shorter valid chain; see README.)
 *
 * Locally it reads the `npm start` stack (http://127.0.0.1:8000, table casebook-ledger). Against
 * AWS: `npm run verify-ledger -- --table <ledger table name>` with AWS credentials and no
 * AWS_ENDPOINT_URL set. `--incident INC-…` checks one incident.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { verifyLedgerTable } from '../functions/adapters/ledger-verification.ts';

const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    incident: { type: 'string' },
    endpoint: { type: 'string' },
  },
});
const local = !values.table;
const endpoint =
  values.endpoint ?? (local ? `http://127.0.0.1:${process.env.CASEBOOK_DYNAMODB_PORT ?? 8000}` : undefined);
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    ...(local
      ? { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  }),
);
const table = values.table ?? 'casebook-ledger';
const report = await verifyLedgerTable(client, table, values.incident);
for (const incident of report) {
  const verdict = incident.problems.length === 0 ? 'chain intact' : `${incident.problems.length} problem(s)`;
  console.log(`${incident.incidentId}: ${incident.entries} entries, ${verdict}`);
  for (const p of incident.problems) console.log(`  seq ${p.seq}: ${p.problem} — ${p.detail}`);
}
if (report.length === 0)
  console.log(`No ledger entries in ${table}${values.incident ? ` for ${values.incident}` : ''}.`);
process.exitCode = report.some((r) => r.problems.length > 0) ? 1 : 0;
