/**
 * The workroom's act use case on DynamoDB (dynalite), where the local stack cannot reach: a
 * failure between the incident's write and the records it owes the logs and the timeline.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { logger } from '../../functions/adapters/logger.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { hashLinkSecret } from '../../functions/domain/approval.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import { CasebookError, ERROR_NAMES } from '../../functions/domain/errors.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import type { Ledger, MailMessage } from '../../functions/domain/ports.ts';
import {
  formatWorkLinkId,
  newWorkLinkSecret,
  personKey,
  workLinkExpiry,
} from '../../functions/domain/work-link.ts';
import { act } from '../../functions/use-cases/workroom.ts';
import { makeWorkroomHandler } from '../../functions/workroom/workroom.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';
import { plainIncident } from '../support/incidents.ts';

mockClient(SFNClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const LEAD = 'lead@example.com';
const RESPONDER = 'responder@example.com';

async function setup(linkIssuedAt?: string, start: Partial<Pick<Incident, 'phase' | 'status'>> = {}) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const workroom = new DynamoDbWorkroom(db.doc, tables.operations);
  const realLedger = db.ledger(tables.ledger);
  let failAppends = 0;
  /** The real ledger, unreachable for the next `failAppends` appends. */
  const ledger: Ledger = {
    append: async (incidentId, draft) => {
      if (failAppends > 0) {
        failAppends--;
        throw new CasebookError(ERROR_NAMES.dependencyUnavailable, 'DynamoDB throttled the ledger');
      }
      return realLedger.append(incidentId, draft);
    },
    read: (incidentId) => realLedger.read(incidentId),
    readHead: (incidentId) => realLedger.readHead(incidentId),
    readPage: (incidentId, page) => realLedger.readPage(incidentId, page),
  };
  const incident = {
    ...plainIncident(1),
    phase: 'Contain' as const,
    status: 'INVESTIGATING' as const,
    ...start,
  };
  await store.createIncident(incident);
  const clock = testClock();
  const issued = linkIssuedAt ? new Date(linkIssuedAt) : clock.now();
  const secret = newWorkLinkSecret();
  const link = {
    incidentId: incident.id,
    person: personKey(incident.id, LEAD),
    email: LEAD,
    role: 'sre_lead' as const,
    secretHash: hashLinkSecret(secret),
    issuedAt: issued.toISOString(),
    expiresAt: workLinkExpiry(issued),
  };
  await workroom.putWorkLink(link);
  const sent: MailMessage[] = [];
  const deps = {
    incidents: store,
    links: workroom,
    postmortems: workroom,
    effects: new DynamoDbEffectStore(db.doc, tables.operations),
    approvals: store,
    ledger,
    waits,
    questions: waits,
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' })),
    pseudonym: async (ref: string) => `cp_${ref}`,
    people: { sreLead: LEAD, responders: [LEAD, RESPONDER] },
    mailer: {
      send: async (message: MailMessage) => {
        sent.push(message);
        return { messageId: `m-${sent.length}` };
      },
    },
    policy: DEFAULT_DEADLINE_POLICY,
    clock,
  };
  return {
    store,
    realLedger,
    incidentId: incident.id,
    linkId: formatWorkLinkId({ ...link, secret }),
    deps,
    sent,
    workroom,
    failNextAppend: () => {
      failAppends = 1;
    },
  };
}

describe('a postmortem whose incident write failed', () => {
  it('is recorded when it is sent again, so the wait for it can end', async () => {
    const { deps, store, incidentId, linkId } = await setup(undefined, {
      phase: 'Learn',
      status: 'RESOLVED',
    });
    const POSTMORTEM = {
      title: 'Double charge',
      summary: 'Payments were settled twice.',
      rootCause: 'Retries carried no idempotency key.',
      contributingFactors: ['No alert on duplicates'],
      whatWentWell: ['The kill switch'],
      lessons: { technical: ['Idempotency keys'], process: ['Reconcile hourly'], governance: ['Sign-off'] },
      actionItems: [{ item: 'Add idempotency keys', owner: 'payments team', due: '2026-12-15' }],
    };
    // The postmortem is written; the incident's write that says it is in fails (a throttle, a kill).
    const failing = Object.create(store) as DynamoDbOperationsStore;
    failing.updateIncident = async () => {
      throw new CasebookError(ERROR_NAMES.dependencyUnavailable, 'DynamoDB throttled the incident');
    };
    await expect(
      act({ ...deps, incidents: failing }, linkId, 'postmortem', { json: POSTMORTEM }),
    ).rejects.toThrow(/throttled/);
    expect((await store.getIncident(incidentId))?.postmortemAt).toBeUndefined();
    // Sent again: recorded, not refused as in already, so Learn's wait sees it.
    await act(deps, linkId, 'postmortem', { json: POSTMORTEM });
    expect((await store.getIncident(incidentId))?.postmortemAt).toBeDefined();
    // Once the incident says it is in, another is refused.
    await expect(act(deps, linkId, 'postmortem', { json: POSTMORTEM })).rejects.toThrow(/in already/);
  });
});

describe('a workroom action whose records fail to reach the ledger', () => {
  it('keeps them on the incident and delivers them, once, with the next action', async () => {
    const { deps, store, realLedger, incidentId, linkId, failNextAppend } = await setup();
    failNextAppend();
    await expect(
      act(deps, linkId, 'severity', { json: { severity: 'SEV1', reason: 'Customers are double-charged' } }),
    ).rejects.toThrow(/throttled/);

    // The change is made, and what it owes the Decision Log waits on the incident.
    const halfway = await store.getIncident(incidentId);
    expect(halfway?.severity).toBe('SEV1');
    expect(halfway?.pendingRecords?.decision?.kind).toBe('severity_change');
    expect((await realLedger.read(incidentId)).filter((e) => e.kind === 'severity_change')).toHaveLength(0);

    // Sending the same change again is refused (it is made), but nothing is lost: the next action
    // of anyone delivers the decision and the timeline event first.
    await expect(
      act(deps, linkId, 'severity', { json: { severity: 'SEV1', reason: 'again' } }),
    ).rejects.toThrow(/SEV1 already/);
    const delivered = await store.getIncident(incidentId);
    expect(delivered?.pendingRecords).toBeUndefined();
    await act(deps, linkId, 'note', { json: { text: 'Rolled back the retry flag' } });

    const decisions = (await realLedger.read(incidentId)).filter((e) => e.kind === 'severity_change');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.actor).toContain(LEAD);
    const timeline = await store.listTimeline(incidentId);
    expect(timeline.filter((e) => e.type === 'severity_changed')).toHaveLength(1);
    expect(timeline.filter((e) => e.type === 'note')).toHaveLength(1);
  });
});

describe('an expired workroom link', () => {
  it('answers 410 to a view and to every action, as a page or JSON, and writes nothing', async () => {
    // Issued long before the test clock's now: past the link's lifetime.
    const { deps, store, realLedger, incidentId, linkId } = await setup('2026-01-02T10:30:00.000Z');
    const handler = makeWorkroomHandler(deps);
    const before = JSON.stringify([
      await store.getIncident(incidentId),
      await store.listTimeline(incidentId),
      await realLedger.read(incidentId),
    ]);
    const view = await handler(
      apiEvent({
        method: 'GET',
        path: `/work/${linkId}`,
        routeKey: 'GET /work/{linkId}',
        pathParameters: { linkId },
      }),
    );
    expect(view.statusCode).toBe(410);
    expect(view.body).toContain('expired');
    for (const [action, body] of [
      ['note', { text: 'still here?' }],
      ['severity', { severity: 'SEV1', reason: 'worse' }],
      ['acknowledge', {}],
    ] as const) {
      const res = await handler(
        apiEvent({
          method: 'POST',
          path: `/work/${linkId}/${action}`,
          routeKey: 'POST /work/{linkId}/{action}',
          pathParameters: { linkId, action },
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
        }),
      );
      expect(res.statusCode, action).toBe(410);
    }
    const after = JSON.stringify([
      await store.getIncident(incidentId),
      await store.listTimeline(incidentId),
      await realLedger.read(incidentId),
    ]);
    expect(after).toBe(before);
  });
});

describe('a customer list that is not UTF-8', () => {
  it('answers 400 naming the line, as a file in a form or as text/csv bytes, and records nothing', async () => {
    const { deps, store, incidentId, linkId } = await setup();
    const handler = makeWorkroomHandler(deps);
    const csv = Buffer.concat([
      Buffer.from('customer_ref,email,name\ncus_1,a@example.com,Ann\ncus_2,b@example.com,J'),
      Buffer.from([0xf6]),
      Buffer.from('rg\n'),
    ]);
    const multipart = Buffer.concat([
      Buffer.from(
        '--casebook-boundary\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n',
      ),
      csv,
      Buffer.from('\r\n--casebook-boundary--\r\n'),
    ]);
    const before = JSON.stringify(await store.getIncident(incidentId));
    for (const [type, bytes] of [
      ['multipart/form-data; boundary=casebook-boundary', multipart],
      ['text/csv', csv],
    ] as const) {
      const res = await handler({
        ...apiEvent({
          method: 'POST',
          path: `/work/${linkId}/customers`,
          routeKey: 'POST /work/{linkId}/{action}',
          pathParameters: { linkId, action: 'customers' },
          headers: { 'content-type': type, accept: 'application/json' },
        }),
        body: bytes.toString('base64'),
        isBase64Encoded: true,
      });
      expect(res.statusCode, type).toBe(400);
      expect(JSON.parse(String(res.body)).issues, type).toEqual([
        { field: 'line 3', message: 'is not UTF-8: save the file as UTF-8 (CSV UTF-8) and upload it again' },
      ]);
    }
    expect(JSON.stringify(await store.getIncident(incidentId))).toBe(before);
  });
});

describe('a reissued link on AWS', () => {
  it('is built on the domain API Gateway answered on, mailed to its person only, and its secret is in no log line or answer', async () => {
    const { deps, incidentId, linkId, sent, workroom } = await setup();
    // As deployed: no configured base URL (the function cannot carry the API's own URL).
    const { publicBaseUrl: _, ...aws } = deps as typeof deps & { publicBaseUrl?: string };
    const handler = makeWorkroomHandler(aws);
    const post = (action: string, body: unknown) =>
      handler(
        apiEvent({
          method: 'POST',
          path: `/work/${linkId}/${action}`,
          routeKey: 'POST /work/{linkId}/{action}',
          pathParameters: { linkId, action },
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    const written: string[] = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown) => {
        written.push(String(chunk));
        return true;
      }) as typeof stream.write;
      return () => {
        stream.write = original;
      };
    };
    logger.setLogLevel('DEBUG');
    const restore = [capture(process.stdout), capture(process.stderr)];
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      // The responder was never invited here: the reissue gives them a link of their own.
      answer = await post('reissue-link', { person: RESPONDER, reason: 'Joined the rota late' });
    } finally {
      for (const r of restore) r();
      logger.setLogLevel('SILENT');
    }
    expect(answer.statusCode).toBe(200);
    expect(sent.map((m) => m.to)).toEqual([RESPONDER]);
    const url = /https:\/\/test\.local\/work\/(\S+)/.exec(sent[0]?.text ?? '')?.[1] as string;
    expect(url).toMatch(new RegExp(`^${incidentId}\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{43}$`));
    const secret = url.split('.').at(-1) as string;
    expect(written.join('\n')).toContain('Workroom action');
    expect(written.join('\n')).not.toContain(secret);
    expect(answer.body).not.toContain(secret);
    // The new link is the responder's, and works.
    const stored = await workroom.getWorkLink(incidentId, url.split('.')[1] as string);
    expect(stored).toMatchObject({ email: RESPONDER, role: 'responder', emailedAt: expect.any(String) });
    const view = await handler(
      apiEvent({
        method: 'GET',
        path: `/work/${url}`,
        routeKey: 'GET /work/{linkId}',
        pathParameters: { linkId: url },
        headers: { accept: 'application/json' },
      }),
    );
    expect(view.statusCode).toBe(200);
    expect(view.body).not.toContain('secretHash');
  });
});
