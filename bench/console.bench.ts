/**
 * The incident console with 1,000 incidents: the median time of 20 loads of `GET /` by a signed-in
 * person, over HTTP on the local stack. The incidents are written straight into the operational
 * table through the store (open and closed, every severity and phase), not driven through their
 * lifecycles: the console reads each incident's own item only, so how they got there does not
 * change what a load costs.
 */
import { rm } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import type { Incident } from '../functions/domain/incident.ts';
import { formatIncidentId } from '../functions/domain/incident.ts';
import { PHASES, SEVERITIES, STATUSES } from '../functions/domain/vocabulary.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { signIn } from '../test/support/console.ts';
import { plainIncident } from '../test/support/incidents.ts';
import { freePorts, start, tempDataDir } from '../test/support/local-stack.ts';
import type { BenchReport } from './run.ts';

const INCIDENTS = Number(process.env.BENCH_CONSOLE_INCIDENTS ?? 1000);
const LOADS = 20;

/** Incident `n` of the seed: a spread of statuses, severities and phases, detected a minute apart. */
function seeded(n: number): Incident {
  const base = plainIncident(n);
  const status = STATUSES[n % STATUSES.length] as Incident['status'];
  const detectedAt = new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();
  return {
    ...base,
    id: formatIncidentId(2026, n),
    title: `Payments double charge in region ${n % 7} (${n})`,
    severity: SEVERITIES[n % SEVERITIES.length] as Incident['severity'],
    status,
    phase: PHASES[n % PHASES.length] as Incident['phase'],
    detectedAt,
    updatedAt: detectedAt,
    ...(status !== 'OPEN' ? { acknowledgedAt: detectedAt, commander: `lead${n % 5}@example.com` } : {}),
  };
}

export default async function bench(): Promise<BenchReport> {
  const dataDir = tempDataDir();
  const stack = await start(dataDir, await freePorts(), { gateway: { throttle: false } });
  try {
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const store = new DynamoDbOperationsStore(db, stack.tables.operations);
    const seededAt = Date.now();
    for (let n = 1; n <= INCIDENTS; n += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, INCIDENTS - n + 1) }, (_, i) =>
          store.createIncident(seeded(n + i)),
        ),
      );
    }
    const seedSeconds = (Date.now() - seededAt) / 1000;
    const { cookie } = await signIn(stack, 'bench@example.com');
    const load = async () => {
      const started = performance.now();
      const res = await fetch(`${stack.endpoints.api}/`, { headers: { cookie } });
      const body = await res.text();
      if (res.status !== 200 || !body.includes(`${INCIDENTS} shown`))
        throw new Error(`GET / answered ${res.status} without the ${INCIDENTS} incidents`);
      return performance.now() - started;
    };
    await load(); // the handler's cold start is not a load people wait on twice
    const times: number[] = [];
    for (let i = 0; i < LOADS; i++) times.push(await load());
    times.sort((a, b) => a - b);
    const p50 = Math.round(((times[LOADS / 2 - 1] as number) + (times[LOADS / 2] as number)) / 2);
    db.destroy();
    return {
      results: { 'casework.console_1k_incidents_ms': p50 },
      targets: { 'casework.console_1k_incidents_ms': '≤ 300' },
      markdown: `## Incident console

\`GET /\` by a signed-in person with ${INCIDENTS} incidents in the operational table (a spread of
statuses, severities and phases, written through the store in ${seedSeconds.toFixed(1)} s): the
median of ${LOADS} loads over HTTP on the local stack, after one warm-up load, is ${p50} ms
(fastest ${Math.round(times[0] as number)} ms, slowest ${Math.round(times.at(-1) as number)} ms).
The console reads each incident's own item, projected to the attributes it shows, in one (paged) query of
the byCreation index; no incident's ledger or timeline is read.`,
    };
  } finally {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
