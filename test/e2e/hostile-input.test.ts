/**
 * Hostile input against the whole local stack, over HTTP: first each case a hostile probe found,
 * with the exact input it used, then a fuzz suite of fast-check generators over every route in
 * functions/routes.ts. Every refused request must be a 4xx within 5 s that wrote nothing: no item
 * in either table, no e-mail, no execution, no S3 object (counted before and after).
 *
 * CASEBOOK_FUZZ_RUNS sets how many fuzz requests to send (default 10,000); CASEBOOK_FUZZ_SEED
 * replays a run (a failure prints its seed and the shrunk counterexample).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_INCIDENTS, META } from '../../functions/adapters/operations-keys.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import { LIMITS, TRUNCATION_MARKER } from '../../functions/domain/limits.ts';
import type { LocalStack } from '../../local/stack.ts';
import { LOCAL_CREDENTIALS } from '../../local/stack.ts';
import { approvedForAct } from '../support/act-setup.ts';
import { openedToDecide, workLinks } from '../support/casework.ts';
import { complaint } from '../support/declarations.ts';
import type { RequestRecipe, Targets } from '../support/hostile-requests.ts';
import { build, hostileRequests } from '../support/hostile-requests.ts';
import { plainIncident } from '../support/incidents.ts';
import type { CaseJson } from '../support/local-stack.ts';
import {
  approvalLinks,
  freePorts,
  getCase,
  inbox,
  start,
  tempDataDir,
  WEBHOOK_TOKEN,
  waitFor,
} from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const FUZZ_REQUESTS = Number(process.env.CASEBOOK_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.CASEBOOK_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Requests per property run, sent together; the writes are counted around each run. */
const MAX_BATCH = 32;
const HANG_MS = 5000;
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
/** The parts of the fixture the probe's cases change. */
interface AlertmanagerBody extends Record<string, unknown> {
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: { startsAt: string; annotations: Record<string, string> }[];
}
const fixture = () => JSON.parse(sample) as AlertmanagerBody;

let stack: LocalStack;
let dynamo: DynamoDBClient;
let s3: S3Client;
let sfn: SFNClient;
const agent = new Agent({ keepAlive: true, maxSockets: MAX_BATCH });
/** The incident the fixture opened, and its approval links; the question about a bounced notice. */
let seeded: {
  incidentId: string;
  approvalIds: string[];
  workLinkIds: string[];
  questionIds: string[];
};
/** The customer whose notice bounces, and the other address on the list a resend would go to. */
const BOUNCES = 'bounce+fuzz@simulator.amazonses.com';
const OTHER_ADDRESS = 'success+fuzz@simulator.amazonses.com';

beforeAll(async () => {
  // The fuzz measures what the handlers answer, not the stage's throttle: without it, most of its
  // requests would be 429s.
  const dataDir = tempDataDir();
  stack = await start(dataDir, await freePorts(), { gateway: { throttle: false } });
  const local = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  dynamo = new DynamoDBClient({ ...local, endpoint: stack.endpoints.dynamodb });
  s3 = new S3Client({
    ...local,
    endpoint: stack.endpoints.s3,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  sfn = new SFNClient({ ...local, endpoint: stack.endpoints.stepFunctions });
  const { incidentId } = await openedToDecide(stack, sample);
  const links = await approvalLinks(stack, incidentId, 1);
  const work = await workLinks(stack, incidentId);
  // A notice Act sends to SES's simulator `bounce@`: its question offers a resend to another address.
  const bounced = {
    ...plainIncident(9),
    id: 'INC-2026-8402',
    correlationKey: 'hostile-resend',
    detectedAt: new Date().toISOString(),
  };
  await approvedForAct(
    stack,
    dataDir,
    bounced,
    [{ customerRef: 'cus_fuzz', email: BOUNCES, name: 'Fuzz', otherEmails: [OTHER_ADDRESS] }],
    {
      summary: 'Apologise to Fuzz',
      apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
      effects: [],
    },
  );
  const question = await waitFor(
    'the question about the bounce',
    async () => (await inbox(stack)).find((m) => m.subject.includes('(bounced)')),
    90_000,
  );
  seeded = {
    incidentId,
    approvalIds: [...links.values()].map((l) => l.split('/approvals/')[1] as string),
    workLinkIds: [...work.values()].map((l) => l.split('/work/')[1] as string),
    questionIds: [/\/effects\/(\S+)/.exec(question.body.text ?? '')?.[1] as string],
  };
}, 210_000);

afterAll(async () => {
  agent.destroy();
  for (const client of [dynamo, s3, sfn]) client?.destroy();
  await stack?.close();
});

/** Everything a request could have written, counted. */
async function written(): Promise<Record<string, number>> {
  const items = async (table: string) =>
    (await dynamo.send(new ScanCommand({ TableName: table, Select: 'COUNT' }))).Count ?? 0;
  const objects = async (bucket: string) =>
    (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;
  const [operations, ledger, emails, executions, exportObjects, payloadObjects] = await Promise.all([
    items(stack.tables.operations),
    items(stack.tables.ledger),
    inbox(stack).then((all) => all.length),
    sfn
      .send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000 }))
      .then((out) => out.executions?.length ?? 0),
    objects(stack.bucket),
    objects(stack.payloadBucket),
  ]);
  return { operations, ledger, emails, executions, exportObjects, payloadObjects };
}

/** Waits until nothing has been written for a while (lifecycles started earlier have settled). */
async function quiet(): Promise<Record<string, number>> {
  let last = await written();
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await written();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error(`The stack never went quiet: ${JSON.stringify(last)}`);
}

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** Sends exactly these bytes (no URL normalization, any method), giving up after HANG_MS. */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<Answer> {
  const started = Date.now();
  const { port } = new URL(stack.endpoints.api);
  // Node sends a GET's body unframed unless told its length: frame every body.
  const framed =
    body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: framed, agent, timeout: HANG_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: Date.now() - started,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HANG_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const json = (body: unknown) => ({
  headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
  body: JSON.stringify(body),
});

/** Sends `act`'s requests and checks each is refused with `status` and that nothing was written. */
async function refusedWithNothingWritten(status: number, act: () => Promise<Answer[]>): Promise<Answer[]> {
  const before = await quiet();
  const answers = await act();
  for (const answer of answers) expect(answer.status, answer.body.slice(0, 300)).toBe(status);
  expect(await written()).toEqual(before);
  return answers;
}

describe("the probe's findings, with the inputs it used", () => {
  it('POST /webhooks/constructor and the other Object.prototype members: 404, nothing opened', async () => {
    const smuggled = json(
      JSON.parse(
        readFileSync(join(import.meta.dirname, '../fixtures/probe/smuggled-normalized-alert.json'), 'utf8'),
      ),
    );
    await refusedWithNothingWritten(404, () =>
      Promise.all(
        ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'].map((source) =>
          send('POST', `/webhooks/${source}`, smuggled.headers, smuggled.body),
        ),
      ),
    );
  });

  it('INC-2026-<2,100 digits> on /incidents/{id} and /approvals/{id}: 404, not 503', async () => {
    const huge = `INC-2026-${'1'.repeat(2100)}`;
    const secret = seeded.approvalIds[0]?.split('.').at(-1);
    await refusedWithNothingWritten(404, () =>
      Promise.all([
        send('GET', `/incidents/${huge}`),
        send('GET', `/approvals/${huge}.1.legal.${secret}`),
        send('HEAD', `/approvals/${huge}.1.legal.${secret}`),
        send(
          'POST',
          `/approvals/${huge}.1.legal.${secret}`,
          { 'content-type': 'application/x-www-form-urlencoded' },
          'decision=approve&name=Probe',
        ),
      ]),
    );
  });

  it('cursors that decode to empty or 3,000-character keys: 400 naming the cursor, not 503', async () => {
    const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
    const long = 'k'.repeat(3000);
    const answers = await refusedWithNothingWritten(400, () =>
      Promise.all(
        [
          cursor({ gsi1pk: '', gsi1sk: '', pk: '', sk: '' }),
          cursor({ gsi1pk: long, gsi1sk: long, pk: long, sk: long }),
          cursor({ gsi1pk: ALL_INCIDENTS, gsi1sk: long, pk: long, sk: META }),
        ].map((c) => send('GET', `/incidents?cursor=${c}`)),
      ),
    );
    for (const a of answers) expect(JSON.parse(a.body).issues[0].field).toBe('cursor');
  });

  it('?limit=0x10, ?limit=%205 and ?limit=1e2: 400 naming limit', async () => {
    const answers = await refusedWithNothingWritten(400, () =>
      Promise.all(['0x10', '%205', '1e2'].map((l) => send('GET', `/incidents?limit=${l}`))),
    );
    for (const a of answers) expect(JSON.parse(a.body).issues[0].field).toBe('limit');
    expect((await send('GET', '/incidents?limit=16')).status).toBe(200);
  });

  it('an impossible date, 2026-02-30T10:00:00Z: 400 naming the field, not rolled over to 2 March', async () => {
    const body = fixture();
    (body.alerts[0] as AlertmanagerBody['alerts'][0]).startsAt = '2026-02-30T10:00:00Z';
    const [answer] = await refusedWithNothingWritten(400, async () => {
      const { headers, body: text } = json(body);
      return [await send('POST', '/webhooks/alertmanager', headers, text)];
    });
    expect(JSON.parse(answer?.body ?? '{}').issues).toContainEqual({
      field: 'alerts[0].startsAt',
      message: 'is not a real date',
    });
  });

  it('an approval link with round 01 instead of 1: 404, not an alias', async () => {
    const link = seeded.approvalIds[0] as string;
    const alias = link.replace('.1.', '.01.');
    expect(alias).not.toBe(link);
    await refusedWithNothingWritten(404, () =>
      Promise.all([
        send('GET', `/approvals/${alias}`),
        send('HEAD', `/approvals/${alias}`),
        send(
          'POST',
          `/approvals/${alias}`,
          { 'content-type': 'application/x-www-form-urlencoded' },
          'decision=approve&name=Probe',
        ),
      ]),
    );
    expect((await send('GET', `/approvals/${link}`)).status).toBe(200);
  });

  it('a resend of a bounced notice to an address not on the customer list: 400 naming it, nothing sent', async () => {
    const link = seeded.questionIds[0] as string;
    const page = await send('GET', `/effects/${link}`);
    expect(page.body).toContain(`<input type="radio" name="address" value="${OTHER_ADDRESS}"`);
    const post = (address: string) =>
      send(
        'POST',
        `/effects/${link}`,
        { 'content-type': 'application/x-www-form-urlencoded' },
        new URLSearchParams({ answer: 'resend', address }).toString(),
      );
    const answers = await refusedWithNothingWritten(400, () =>
      Promise.all(
        [
          'mallory@example.com',
          `${OTHER_ADDRESS}\r\nBcc: mallory@example.com`,
          `${OTHER_ADDRESS},mallory@example.com`,
          `Fuzz <${OTHER_ADDRESS}>`,
          BOUNCES,
          '',
        ].map(post),
      ),
    );
    for (const answer of answers) expect(answer.body).toContain('<code>address</code>');
    expect((await send('GET', `/effects/${link}`)).body).toContain('<form method="post"');
  });

  it('a manual ledger entry with one bad field: 400 naming it, nothing written', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...legalFee, amount: '12.345' }, 'amount'],
      [{ ...legalFee, kind: 'notice' }, 'kind'],
      [{ ...legalFee, kind: 'refund', providerRef: 're_1', customerRef: 'ada@example.com' }, 'customerRef'],
      [{ ...legalFee, corrects: '01KAZ3NDEKTSV4RRFFQ69G5FAV' }, 'corrects'],
      [{ ...legalFee, effectiveAt: '2999-01-01T00:00:00Z' }, 'effectiveAt'],
      [JSON.parse(`{"__proto__": {"kind": "refund"}, ${JSON.stringify(legalFee).slice(1)}`), '__proto__'],
    ];
    const answers = await refusedWithNothingWritten(400, () =>
      Promise.all(
        cases.map(([body], i) =>
          send(
            'POST',
            `/incidents/${seeded.incidentId}/ledger`,
            { 'content-type': 'application/json', 'idempotency-key': `probe-${i}` },
            JSON.stringify(body),
          ),
        ),
      ),
    );
    answers.forEach((answer, i) => {
      const fields = (JSON.parse(answer.body).issues as { field: string }[]).map((issue) => issue.field);
      expect(fields).toEqual([cases[i]?.[1]]);
    });
  });

  it('a declaration with one bad field: 400 naming it, nothing written', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...complaint, category: 'billing' }, 'category'],
      [{ ...complaint, reporter: 'Ana <ana@corp.example>' }, 'reporter'],
      [{ ...complaint, title: 'Refund ada@example.com' }, 'title'],
      [{ ...complaint, description: 'a\u0000b' }, 'description'],
      [{ ...complaint, csTicketId: '\u202E' }, 'csTicketId'],
      [{ ...complaint, startedAt: '2999-01-01T00:00:00Z' }, 'startedAt'],
      [JSON.parse(`{"__proto__": {"world": "RML1"}, ${JSON.stringify(complaint).slice(1)}`), '__proto__'],
    ];
    const answers = await refusedWithNothingWritten(400, () =>
      Promise.all(
        cases.map(([body]) =>
          send('POST', '/incidents', { 'content-type': 'application/json' }, JSON.stringify(body)),
        ),
      ),
    );
    answers.forEach((answer, i) => {
      const fields = (JSON.parse(answer.body).issues as { field: string }[]).map((issue) => issue.field);
      expect(fields).toEqual([cases[i]?.[1]]);
    });
  });

  /** Opens an incident from `body` and waits for its lifecycle to ask for approvals. */
  async function opens(body: Record<string, unknown>): Promise<{ incidentId: string; raw: string }> {
    const raw = JSON.stringify(body);
    const { incidentId } = await openedToDecide(stack, raw);
    await approvalLinks(stack, incidentId, 1);
    return { incidentId, raw };
  }

  /** Every correlation key points at an incident that exists: nothing claimed without one. */
  async function everyClaimHasItsIncident(): Promise<void> {
    const items = (await dynamo.send(new ScanCommand({ TableName: stack.tables.operations }))).Items ?? [];
    const all = items.map((i) => unmarshall(i));
    const incidents = new Set(all.filter((i) => i.entity === 'incident').map((i) => i.id));
    const claims = all.filter((i) => i.entity === 'correlation');
    expect(claims.length).toBeGreaterThan(0);
    for (const claim of claims) expect(incidents).toContain(claim.incidentId);
  }

  it('a 900,000-character description opens an incident with the description cut and the whole payload in S3', async () => {
    const body = fixture();
    body.groupKey = '{}:{alertname="Poison"}';
    const description = 'D'.repeat(900_000);
    body.commonAnnotations.description = description;
    const { incidentId, raw } = await opens(body);
    const { incident } = (await getCase(stack, incidentId)) as CaseJson & {
      incident: { description: string; truncated: unknown; originalPayload: { key: string } };
    };
    expect(Buffer.byteLength(incident.description)).toBe(LIMITS.annotationValueBytes);
    expect(incident.description.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(incident.truncated).toEqual([
      { field: 'commonAnnotations.description', bytes: 900_000, sha256: sha256Hex(description) },
    ]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.payloadBucket }));
    expect(listed.Contents?.map((o) => o.Key)).toContain(`alertmanager/${sha256Hex(raw)}.json`);
    expect(incident.originalPayload.key).toBe(`alertmanager/${sha256Hex(raw)}.json`);
    await everyClaimHasItsIncident();
  });

  it('a 500,000-character label opens an incident with the label cut', async () => {
    const body = fixture();
    body.groupKey = '{}:{alertname="PoisonLabel"}';
    body.commonLabels.instance = 'L'.repeat(500_000);
    const { incidentId } = await opens(body);
    const { incident } = (await getCase(stack, incidentId)) as unknown as {
      incident: { labels: Record<string, string> };
    };
    expect(Buffer.byteLength(incident.labels.instance ?? '')).toBe(LIMITS.labelValueBytes);
    await everyClaimHasItsIncident();
  });

  it('a right-to-left override in an alert label: stripped from e-mail subjects, isolated on the page', async () => {
    const body = fixture();
    body.groupKey = '{}:{alertname="Bidi"}';
    const title = 'Refund \u202Eelbuod\u202C sent';
    body.commonLabels.alertname = title;
    body.groupLabels.alertname = title;
    delete body.commonAnnotations.summary;
    delete body.alerts[0]?.annotations.summary;
    const { incidentId } = await opens(body);
    // Two workroom invitations and the approval requests of a small incident (SRE and Business),
    // each naming the incident.
    const mails = (await inbox(stack)).filter((m) => m.subject.includes(incidentId));
    expect(mails).toHaveLength(4);
    for (const mail of mails) {
      expect(mail.subject).not.toMatch(BIDI);
      expect(mail.subject).toContain('Refund elbuod sent');
    }
    const links = await approvalLinks(stack, incidentId, 1);
    const page = await (await fetch(links.get('business') as string)).text();
    expect(page).toContain(`<bdi>${title}</bdi>`);
    expect(page.replace(/<bdi>[\s\S]*?<\/bdi>/g, '')).not.toMatch(BIDI);
  });
});

describe('fuzz: every route, hostile and broken requests', () => {
  it(`answers ${FUZZ_REQUESTS} generated requests with no 5xx, none slower than ${HANG_MS} ms, and writes nothing for any of them (seed ${SEED})`, async () => {
    const list = JSON.parse((await send('GET', '/incidents?limit=1')).body) as { cursor: string };
    const targets: Targets = {
      token: WEBHOOK_TOKEN,
      incidentIds: [seeded.incidentId],
      approvalIds: seeded.approvalIds,
      workLinkIds: seeded.workLinkIds,
      questionIds: seeded.questionIds,
      otherAddress: OTHER_ADDRESS,
      cursor: list.cursor,
      fixture: fixture(),
    };
    let sent = 0;
    const statuses = new Map<number, number>();
    /** What the workroom's actions answered, apart: the routes with the most ways to write. */
    const workStatuses = new Map<number, number>();
    /** Resends refused for their address: the one answer on a question that sends to a customer. */
    let addressRefused = 0;
    // After a passing run the counts are known; after a failing one (and while shrinking) count afresh.
    let counted: Record<string, number> | undefined = await quiet();
    const property = fc.asyncProperty(
      fc.array(hostileRequests(targets), { minLength: 1, maxLength: MAX_BATCH, size: 'max' }),
      async (batch: RequestRecipe[]) => {
        const before = counted ?? (await written());
        counted = undefined;
        const answers = await Promise.all(
          batch.map((recipe) => {
            const { headers, body } = build(recipe, targets);
            const path = recipe.query ? `${recipe.path}?${recipe.query}` : recipe.path;
            return send(recipe.method, path, headers, body).catch((error: Error) => ({
              status: 0,
              ms: HANG_MS,
              body: error.message,
              headers: {},
            }));
          }),
        );
        sent += batch.length;
        answers.forEach((answer, i) => {
          const recipe = batch[i] as RequestRecipe;
          const what = `${recipe.method} ${recipe.path.slice(0, 200)} (aimed at ${recipe.aim})`;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (recipe.aim === 'POST /work/{linkId}/{action}' && recipe.method === 'POST')
            workStatuses.set(answer.status, (workStatuses.get(answer.status) ?? 0) + 1);
          if (
            recipe.aim === 'POST /effects/{questionId}' &&
            answer.status === 400 &&
            answer.body.includes('<code>address</code>')
          )
            addressRefused++;
          if (answer.status === 0) throw new Error(`${what}: ${answer.body}`);
          if (answer.status >= 500)
            throw new Error(`${what} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
          if (answer.ms > HANG_MS) throw new Error(`${what} took ${answer.ms} ms`);
          // Acknowledging an incident already acknowledged is a no-op that answers as a success
          // (forms carry no fields to break); that it wrote nothing is checked below.
          const noOp = recipe.method === 'POST' && /^\/work\/[^/]+\/acknowledge$/.test(recipe.path);
          if (recipe.method === 'POST' && answer.status < 400 && !noOp) {
            throw new Error(`${what} was built to be refused but answered ${answer.status}`);
          }
        });
        const after = await written();
        expect(after, 'a refused request wrote something').toEqual(before);
        counted = after;
      },
    );
    for (let round = 0; sent < FUZZ_REQUESTS; round++) {
      const remaining = FUZZ_REQUESTS - sent;
      await fc.assert(property, {
        seed: SEED + round,
        numRuns: Math.ceil(remaining / ((MAX_BATCH + 1) / 2)) + 1,
      });
    }
    expect(sent).toBeGreaterThanOrEqual(FUZZ_REQUESTS);
    // Not vacuous: the generators reach past the gateway into every kind of answer.
    for (const status of [200, 400, 401, 404])
      expect(statuses.get(status) ?? 0, `${status}s`).toBeGreaterThan(0);
    for (const status of [400, 404])
      expect(workStatuses.get(status) ?? 0, `workroom ${status}s`).toBeGreaterThan(0);
    expect(addressRefused, 'resends refused for their address').toBeGreaterThan(0);
  }, 600_000);
});
