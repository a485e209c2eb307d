/**
 * The incident console with 1,000 incidents: the median time of 20 loads of `GET /` by a signed-in
 * person, over HTTP on the local stack. The incidents are written straight into the operational
 * table through the store (open and closed, every severity and phase), not driven through their
 * lifecycles: the console reads each incident's own item only, so how they got there does not
 * change what a load costs.
 *
 * Then the case page of an incident whose Effect Ledger holds what Act writes for 10,000 customers
 * (a refund's intent, executed and confirmed entries and a notice each: 40,000 entries) over the
 * case page of one with 3 customers' (12 entries), on the same stack: the chains are written as
 * the ledger writes them (format 3 items of 25 entries, heads signed), straight into the table, 25
 * items a call. The case page reads one page of the ledger, so the two should take about as long.
 */

import { generateKeyPairSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../functions/adapters/head-signer.ts';
import type { Incident } from '../functions/domain/incident.ts';
import { formatIncidentId } from '../functions/domain/incident.ts';
import type { ChainItemV3, ChainTip, LedgerEntryDraft } from '../functions/domain/ledger.ts';
import { batchItem, genesisTip, newEntryId, tipAfter } from '../functions/domain/ledger.ts';
import { PHASES, SEVERITIES, STATUSES } from '../functions/domain/vocabulary.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { signIn } from '../test/support/console.ts';
import { plainIncident } from '../test/support/incidents.ts';
import { freePorts, start, tempDataDir } from '../test/support/local-stack.ts';
import type { BenchReport } from './run.ts';

const INCIDENTS = Number(process.env.BENCH_CONSOLE_INCIDENTS ?? 1000);
const LOADS = 20;
/** Customers of the large incident whose case page is timed, and loads of each case page. */
const CUSTOMERS = Number(process.env.BENCH_CONSOLE_CUSTOMERS ?? 10_000);
const CASE_LOADS = 15;
const PER_ITEM = 25;

/** What Act writes for customer `n`: a refund's three entries and a notice. */
function actEntries(n: number): LedgerEntryDraft[] {
  const counterparty = `cp_${n.toString(16).padStart(32, '0')}`;
  const refund = (state: 'intent' | 'executed' | 'confirmed'): LedgerEntryDraft => ({
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: '2026-11-22T10:00:00.000Z',
    actor: 'casebook-act',
    idempotencyKey: `P1-E${n}:${state}`,
    summary: `refund P1-E${n} for ${counterparty.slice(0, 7)}…: ${state}`,
    detail: {},
    effectId: `P1-E${n}`,
    state,
    amount: { minor: 1299, currency: 'EUR' },
    obligation: 'tos',
    counterparty,
  });
  return [
    refund('intent'),
    refund('executed'),
    refund('confirmed'),
    {
      log: 'effect',
      kind: 'notice',
      world: 'RML3',
      phase: 'Act',
      at: '2026-11-22T10:00:01.000Z',
      actor: 'casebook-act',
      idempotencyKey: `P1-N${n}:confirmed`,
      summary: `notice to ${counterparty.slice(0, 7)}…: confirmed`,
      detail: {},
      effectId: `P1-N${n}`,
      state: 'confirmed',
      counterparty,
    },
  ];
}

/** Writes `customers`' Act entries as incident `incidentId`'s chain, straight into the ledger table. */
async function writeChain(db: DynamoDBDocumentClient, table: string, incidentId: string, customers: number) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  const drafts = Array.from({ length: customers }, (_, i) => actEntries(i + 1)).flat();
  const items: ChainItemV3[] = [];
  let tip: ChainTip = genesisTip();
  for (let first = 0; first < drafts.length; first += PER_ITEM) {
    const batch = drafts.slice(first, first + PER_ITEM).map((draft) => ({ draft, id: newEntryId(draft) }));
    const item = await batchItem(incidentId, tip, batch, signer);
    items.push(item);
    tip = tipAfter(item, tip);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < items.length) {
        const batch = items.slice(next, next + 25);
        next += 25;
        await db.send(
          new BatchWriteCommand({
            RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) },
          }),
        );
      }
    }),
  );
  return drafts.length;
}

/** The median time of `CASE_LOADS` loads of a page, after one to warm up. */
async function medianMs(url: string, cookie: string, expect: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= CASE_LOADS; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    const body = await res.text();
    if (res.status !== 200 || !body.includes(expect))
      throw new Error(`GET ${url} answered ${res.status} without ${expect}`);
    if (i > 0) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

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
      const rows = body.match(/<a href="\/console\/incidents\//g)?.length ?? 0;
      if (res.status !== 200 || rows !== 25 || !body.includes('Next page'))
        throw new Error(
          `GET / answered ${res.status} with ${rows} incidents, not a page of 25 and a next one`,
        );
      return performance.now() - started;
    };
    await load(); // the handler's cold start is not a load people wait on twice
    const times: number[] = [];
    for (let i = 0; i < LOADS; i++) times.push(await load());
    times.sort((a, b) => a - b);
    const p50 = Math.round(((times[LOADS / 2 - 1] as number) + (times[LOADS / 2] as number)) / 2);

    // Two incidents beyond the seeded ones, with the ledgers of a 3-customer and a large Act.
    const small = seeded(INCIDENTS + 1);
    const large = seeded(INCIDENTS + 2);
    await store.createIncident(small);
    await store.createIncident(large);
    const chainStarted = Date.now();
    const smallEntries = await writeChain(db, stack.tables.ledger, small.id, 3);
    const largeEntries = await writeChain(db, stack.tables.ledger, large.id, CUSTOMERS);
    const chainSeconds = (Date.now() - chainStarted) / 1000;
    const casePage = (id: string) => `${stack.endpoints.api}/console/incidents/${id}`;
    const smallMs = await medianMs(casePage(small.id), cookie, `${smallEntries} entries in all`);
    const largeMs = await medianMs(casePage(large.id), cookie, `${largeEntries} entries in all`);
    const ratio = Math.round((largeMs / smallMs) * 100) / 100;
    const k = CUSTOMERS >= 1000 && CUSTOMERS % 1000 === 0 ? `${CUSTOMERS / 1000}k` : String(CUSTOMERS);
    const caseKey = `casework.console_case_${k}_vs_3`;
    db.destroy();
    return {
      results: { 'casework.console_1k_incidents_ms': p50, [caseKey]: ratio },
      targets: { 'casework.console_1k_incidents_ms': '≤ 300', [caseKey]: '≤ 2' },
      markdown: `## Incident console

\`GET /\` by a signed-in person with ${INCIDENTS} incidents in the operational table (a spread of
statuses, severities and phases, written through the store in ${seedSeconds.toFixed(1)} s): the
median of ${LOADS} loads over HTTP on the local stack, after one warm-up load, is ${p50} ms
(fastest ${Math.round(times[0] as number)} ms, slowest ${Math.round(times.at(-1) as number)} ms).
The console reads a page of incidents' own items (25 and one more), projected to the attributes it
shows, from the byCreation index, open ones first; no incident's ledger or timeline is read.

The case page (\`/console/incidents/{id}\`, HTML, median of ${CASE_LOADS} loads after one to warm up)
renders in ${largeMs.toFixed(1)} ms for an incident whose Effect Ledger holds ${largeEntries.toLocaleString('en-US')}
entries (Act's for ${CUSTOMERS.toLocaleString('en-US')} customers) and in ${smallMs.toFixed(1)} ms for one with
${smallEntries} (3 customers): \`${caseKey}\` = ${ratio}. It reads one page of the ledger (25 entries, newest
first), the ledger's head for the count and the effects' summary Act keeps, never the whole ledger;
what the incident cost (the P&L, every entry) is a page of its own. Writing the two chains took
${chainSeconds.toFixed(1)} s (untimed).`,
    };
  } finally {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
