/**
 * End to end on the local stack, over HTTP: the incident's people are told that the plan was
 * approved, that Act finished (what was done), that the postmortem is due (by when) and that the
 * incident closed — each once, though the whole stack is killed (`kill -9`) right after the step
 * that sent two of them ran and before Step Functions recorded it, so that the step runs again.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { hashLinkSecret } from '../../functions/domain/approval.ts';
import type { Customer } from '../../functions/domain/plan.ts';
import {
  formatWorkLinkId,
  newWorkLinkSecret,
  personKey,
  workLinkExpiry,
} from '../../functions/domain/work-link.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { apologyPlan, approvedForAct, incidentForAct } from '../support/act-setup.ts';
import { POSTMORTEM, RESPONDER, SRE_LEAD, work } from '../support/casework.ts';
import type { InboxEmail, StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const CUSTOMERS: Customer[] = [
  { customerRef: 'cus_ada', name: 'Ada', email: 'ada@example.com' },
  { customerRef: 'cus_bo', name: 'Bo', email: 'bo@example.com' },
];
const PEOPLE = [RESPONDER, SRE_LEAD].sort();

const about = (mails: readonly InboxEmail[], id: string, what: string) =>
  mails
    .filter((m) => m.subject.includes(`${id}: ${what}`))
    .map((m) => m.destination.to[0])
    .sort();

describe('progress e-mails', () => {
  it('tells each person each piece of news once, across a crash of the step that told them', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    // The lifecycle's third step from Decide is entering Learn (Decide, Act, Learn): it tells
    // that Act finished and that the postmortem is due; its result is never recorded.
    stack = await spawnStack(dataDir, ports, 'recordPhase:3');
    const incident = incidentForAct(7, 'INC-2026-8700', 'progress-mails');
    await approvedForAct(stack, dataDir, incident, CUSTOMERS, apologyPlan('Apologise to each customer.'));
    await stack.line('HELD recordPhase 3');
    const first = await inbox(stack);
    expect((await getCase(stack, incident.id)).incident.phase).toBe('Learn');
    expect(about(first, incident.id, 'plan v1 approved')).toEqual(PEOPLE);
    expect(about(first, incident.id, 'remediation done')).toEqual(PEOPLE);
    const done = first.find((m) => m.subject.includes(`${incident.id}: remediation done`));
    expect(done?.body.text).toContain('2 notices sent, 0 questions open');
    expect(about(first, incident.id, 'postmortem due by')).toEqual(PEOPLE);
    await stack.kill();

    // The same execution enters Learn again: nobody is told twice; the postmortem closes it.
    stack = await spawnStack(dataDir, ports);
    const target = stack;
    await postPostmortem(target, incident.id);
    await waitFor('the incident to close', async () =>
      (await getCase(target, incident.id)).incident.status === 'CLOSED' ? true : undefined,
    );
    // Everyone who took part: the responders, the SRE lead and the approvers.
    const approvers = new Set(
      (await getCase(target, incident.id)).decisions
        .filter((d) => d.kind === 'approval')
        .map((d) => String(d.detail.email)),
    );
    // The closing news names whom it goes to; wait for that many e-mails, then check who they are.
    const closing = await waitFor('the closing news on the timeline', async () => {
      const told = (await getCase(target, incident.id)).timeline.find(
        (e) => e.type === 'people_told' && e.summary.endsWith('the incident is closed'),
      ) as { detail?: { to?: string[] } } | undefined;
      return told?.detail?.to;
    });
    const closedMail = await waitFor(
      'the closing e-mails',
      async () => {
        const mails = await inbox(target);
        return about(mails, incident.id, 'closed').length >= closing.length ? mails : undefined;
      },
      60_000,
    ).catch(async (error: unknown) => {
      throw new Error(
        `${(error as Error).message}; closed sent to ${JSON.stringify(about(await inbox(target), incident.id, 'closed'))} of ${JSON.stringify(closing)}`,
      );
    });
    expect(about(closedMail, incident.id, 'remediation done')).toEqual([]);
    expect(about(closedMail, incident.id, 'postmortem due')).toEqual([]);
    expect(about(closedMail, incident.id, 'plan v1 approved')).toEqual([]);
    const closedTo = about(closedMail, incident.id, 'closed');
    expect(closedTo).toEqual([...new Set(closedTo)]);
    expect(closedTo).toEqual([...new Set([...PEOPLE, ...approvers])].sort());
    const told = (await getCase(target, incident.id)).timeline.filter((e) => e.type === 'people_told');
    expect(
      told.map((e) => e.summary.split(': ')[1]?.replace(/ by \d{4}-\d\d-\d\d \d\d:\d\d UTC$/, '')).sort(),
    ).toEqual(
      ['plan v1 approved', 'Act finished plan v1', 'the postmortem is due', 'the incident is closed'].sort(),
    );
  }, 300_000);
});

/**
 * The postmortem, posted over HTTP through a workroom link: the incident was written to Decide by
 * hand (nobody was invited), so the SRE lead's link is written to the table as the invitation would.
 */
async function postPostmortem(target: StackProcess, incidentId: string): Promise<void> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      endpoint: target.endpoints.dynamodb,
    }),
  );
  const secret = newWorkLinkSecret();
  const now = new Date();
  const person = personKey(incidentId, SRE_LEAD);
  await new DynamoDbWorkroom(db, target.tables.operations).putWorkLink({
    incidentId,
    person,
    email: SRE_LEAD,
    role: 'sre_lead',
    secretHash: hashLinkSecret(secret),
    issuedAt: now.toISOString(),
    expiresAt: workLinkExpiry(now),
  });
  db.destroy();
  const link = `${target.endpoints.api}/work/${formatWorkLinkId({ incidentId, person, secret })}`;
  const answer = await work(link, 'postmortem', POSTMORTEM);
  if (answer.status !== 200) throw new Error(`the postmortem answered ${answer.status}`);
}
