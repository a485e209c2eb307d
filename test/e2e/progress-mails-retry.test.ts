/**
 * End to end on the local stack, over HTTP: the step that tells the incident's people the plan was
 * approved dies (`kill -9`) after the first person's e-mail was accepted and before the second
 * one's was sent. Restarted, the same execution runs the step again: only the second person is
 * e-mailed, and the timeline says the news was told once, after both were. Each e-mail carries the
 * person's own workroom link, and every link sent keeps opening the workroom.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { hashLinkSecret } from '../../functions/domain/approval.ts';
import type { Customer } from '../../functions/domain/plan.ts';
import { newWorkLinkSecret, personKey, workLinkExpiry } from '../../functions/domain/work-link.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { apologyPlan, approvedForAct, incidentForAct } from '../support/act-setup.ts';
import { RESPONDER, SRE_LEAD } from '../support/casework.ts';
import type { InboxEmail, StackEndpoints, StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const CUSTOMERS: Customer[] = [{ customerRef: 'cus_ada', name: 'Ada', email: 'ada@example.com' }];
const APPROVED = 'plan v1 approved';

const approvedMail = (mails: readonly InboxEmail[], id: string) =>
  mails.filter((m) => m.subject.includes(`${id}: ${APPROVED}`));

/** The workroom link an e-mail carries. */
const linkOf = (mail: InboxEmail | undefined) => /(http:\/\/\S+\/work\/\S+)/.exec(mail?.body.text ?? '')?.[1];

describe('progress e-mails across a crash in the middle of telling', () => {
  it('e-mails after the restart only those not yet told, and records the news once all were', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    // The second "plan v1 approved" e-mail is held before SES is called; the process is killed there.
    stack = await spawnStack(dataDir, ports, `mail:before:2:${APPROVED}`);
    const incident = incidentForAct(8, 'INC-2026-8800', 'progress-mails-retry');
    // Both people hold a workroom link, as their invitation would have left it.
    await giveLinks(stack, incident.id, [SRE_LEAD, RESPONDER]);
    await approvedForAct(stack, dataDir, incident, CUSTOMERS, apologyPlan('Apologise to each customer.'));
    await stack.line('HELD mail 2');
    const before = approvedMail(await inbox(stack), incident.id);
    expect(before).toHaveLength(1);
    const first = before[0]?.destination.to[0] ?? '';
    expect([SRE_LEAD, RESPONDER]).toContain(first);
    const second = first === SRE_LEAD ? RESPONDER : SRE_LEAD;
    const told = async (target: StackEndpoints) =>
      (await getCase(target, incident.id)).timeline.filter(
        (e) => e.type === 'people_told' && e.summary.endsWith(APPROVED),
      );
    // Not everyone was told: the timeline does not say the news went out.
    expect(await told(stack)).toEqual([]);
    const firstLink = linkOf(before[0]);
    expect(firstLink).toContain(`.${personKey(incident.id, first)}.`);
    await stack.kill();

    // The same execution runs the step again: only the person not yet told is e-mailed.
    stack = await spawnStack(dataDir, ports);
    const target = stack;
    const recorded = await waitFor(
      'the news on the timeline',
      async () => {
        const events = await told(target);
        return events.length > 0 ? events : undefined;
      },
      60_000,
    );
    expect(recorded).toHaveLength(1);
    const named = (recorded[0] as { detail?: { to?: string[] } } | undefined)?.detail?.to ?? [];
    expect([...named].sort()).toEqual([SRE_LEAD, RESPONDER].sort());
    const after = approvedMail(await inbox(target), incident.id);
    expect(after.map((m) => m.destination.to[0])).toEqual([second]);
    const secondLink = linkOf(after[0]);
    expect(secondLink).toContain(`.${personKey(incident.id, second)}.`);
    // Both e-mailed links open their person's workroom, across the restart.
    for (const link of [firstLink, secondLink]) {
      const page = await fetch((link ?? '').replace(/^http:\/\/[^/]+/, target.endpoints.api));
      expect(page.status).toBe(200);
    }
  }, 300_000);
});

/** A workroom link for each person, written to the table as the invitation writes it. */
async function giveLinks(
  target: StackEndpoints,
  incidentId: string,
  people: readonly string[],
): Promise<void> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      endpoint: target.endpoints.dynamodb,
    }),
  );
  const now = new Date();
  for (const email of people) {
    await new DynamoDbWorkroom(db, target.tables.operations).putWorkLink({
      incidentId,
      person: personKey(incidentId, email),
      email,
      role: email === SRE_LEAD ? 'sre_lead' : 'responder',
      secretHash: hashLinkSecret(newWorkLinkSecret()),
      issuedAt: now.toISOString(),
      expiresAt: workLinkExpiry(now),
      emailedAt: now.toISOString(),
    });
  }
  db.destroy();
}
