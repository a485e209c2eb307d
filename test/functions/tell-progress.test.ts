import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { WorkLinkRef } from '../../functions/domain/work-link.ts';
import { linkStanding, parseWorkLinkId, personKey } from '../../functions/domain/work-link.ts';
import { changeWorkLink } from '../../functions/use-cases/change-work-link.ts';
import { invitePeople } from '../../functions/use-cases/invite-people.ts';
import { tellProgress } from '../../functions/use-cases/tell-progress.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const ses = mockClient(SESClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());
beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

const LEAD = 'lead@example.com';
const ANA = 'ana@example.com';
/** The incident's lead, who works it without being on the roster: they hold no workroom link. */
const COMMANDER = 'legal@example.com';
let n = 0;

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const incident = { ...plainIncident(++n), commander: COMMANDER };
  await store.createIncident(incident);
  const links = new DynamoDbWorkroom(db.doc, tables.operations);
  const clock = testClock();
  const deps = {
    incidents: store,
    approvals: store,
    links,
    told: links,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    people: { responders: [ANA, LEAD], sreLead: LEAD },
    policy: DEFAULT_DEADLINE_POLICY,
    publicBaseUrl: 'https://casebook.example.com',
    clock,
  };
  const toldOnTimeline = async () =>
    (await store.listTimeline(incident.id)).filter((e) => e.type === 'people_told');
  return { ID: incident.id, deps, links, clock, toldOnTimeline };
}

const sent = (subject: string) =>
  ses
    .commandCalls(SendEmailCommand)
    .map((c) => c.args[0].input)
    .filter((m) => m.Message?.Subject?.Data?.includes(subject));
const sentTo = (subject: string) => sent(subject).map((m) => m.Destination?.ToAddresses?.[0] ?? '');
/** The workroom link a person's e-mail carries, if any. */
const linkIn = (subject: string, to: string): WorkLinkRef | undefined => {
  const text = sent(subject).find((m) => m.Destination?.ToAddresses?.[0] === to)?.Message?.Body?.Text?.Data;
  return parseWorkLinkId(/https:\/\/casebook\.example\.com\/work\/(\S+)/.exec(text ?? '')?.[1] ?? '');
};

describe('telling the people how the incident goes', () => {
  it('marks a person told only once their e-mail was accepted: a retry after a failed send tells only the rest', async () => {
    const { ID, deps, toldOnTimeline } = await setup();
    ses
      .on(SendEmailCommand, { Destination: { ToAddresses: [ANA] } })
      .rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    // The step fails (so it is retried), after the others were tried; nothing claims ana was told.
    await expect(tellProgress(deps, ID, 'postmortem-due')).rejects.toThrow(/socket hang up/);
    expect(sentTo('postmortem due').sort()).toEqual([ANA, LEAD, COMMANDER].sort());
    expect(await toldOnTimeline()).toEqual([]);

    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    expect(await tellProgress(deps, ID, 'postmortem-due')).toBe(true);
    expect(sentTo('postmortem due')).toEqual([ANA]);
    const told = await toldOnTimeline();
    expect(told).toHaveLength(1);
    expect(told[0]?.detail?.to).toEqual([LEAD, ANA, COMMANDER]);

    // Called again (a retried step, a restart): nobody is told twice.
    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    expect(await tellProgress(deps, ID, 'postmortem-due')).toBe(false);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(await toldOnTimeline()).toHaveLength(1);
  });

  it('a provider that refuses an address is final for that person, and the timeline says so', async () => {
    const { ID, deps, toldOnTimeline } = await setup();
    ses.on(SendEmailCommand, { Destination: { ToAddresses: [ANA] } }).rejects(
      Object.assign(new Error('Email address is not verified'), {
        name: 'MessageRejected',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    expect(await tellProgress(deps, ID, 'postmortem-due')).toBe(true);
    const [told] = await toldOnTimeline();
    expect(told?.detail).toMatchObject({ to: [LEAD, COMMANDER], refused: [ANA] });
    expect(told?.summary).toContain(`the mail provider refused ${ANA}`);
  });

  it('SES throttling is not a refusal: the step is retried and the throttled person told on the retry', async () => {
    const { ID, deps, toldOnTimeline } = await setup();
    ses.on(SendEmailCommand, { Destination: { ToAddresses: [ANA] } }).rejects(
      Object.assign(new Error('Maximum sending rate exceeded.'), {
        name: 'Throttling',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(tellProgress(deps, ID, 'postmortem-due')).rejects.toMatchObject({
      name: 'Casebook.DependencyUnavailable',
    });
    expect(await toldOnTimeline()).toEqual([]);

    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    expect(await tellProgress(deps, ID, 'postmortem-due')).toBe(true);
    expect(sentTo('postmortem due')).toEqual([ANA]);
    const [told] = await toldOnTimeline();
    expect(told?.detail).toEqual({ news: 'postmortem-due', to: [LEAD, ANA, COMMANDER] });
  });

  it("carries each person's own workroom link, a further secret of it; none for whoever holds no link", async () => {
    const { ID, deps, links, clock } = await setup();
    await invitePeople(deps, { incidentId: ID });
    const invitation: Record<string, WorkLinkRef | undefined> = {
      [LEAD]: linkIn(': you are ', LEAD),
      [ANA]: linkIn(': you are ', ANA),
    };
    await tellProgress(deps, ID, 'postmortem-due');
    for (const to of [LEAD, ANA]) {
      const ref = linkIn('postmortem due', to);
      expect(ref?.person).toBe(personKey(ID, to));
      expect(ref?.secret).not.toBe(invitation[to]?.secret);
      const link = await links.getWorkLink(ID, ref?.person ?? '');
      expect(link?.moreSecrets).toHaveLength(1);
      // Both the invitation's link and the e-mail's open the workroom; only hashes are kept.
      expect(linkStanding(link, ref?.secret ?? '', clock.now())).toEqual({ status: 200 });
      expect(linkStanding(link, invitation[to]?.secret ?? '', clock.now())).toEqual({ status: 200 });
      expect(JSON.stringify(link)).not.toContain(ref?.secret);
    }
    // The incident's lead was never invited: their e-mail points at no link of its own.
    const commander = sent('postmortem due').find((m) => m.Destination?.ToAddresses?.[0] === COMMANDER);
    expect(commander?.Message?.Body?.Text?.Data).not.toContain('/work/');
    expect(commander?.Message?.Body?.Text?.Data).toContain('invitation e-mail');

    // Revoked, every secret of ana's link answers 410; reissued, every old one is retired.
    const ana = personKey(ID, ANA);
    const fromMail = linkIn('postmortem due', ANA)?.secret ?? '';
    await changeWorkLink(
      deps,
      { id: ID, title: 't', severity: 'SEV2' },
      { kind: 'revoke', email: ANA, reason: 'left' },
      {
        email: LEAD,
        role: 'sre_lead',
      },
    );
    const revoked = await links.getWorkLink(ID, ana);
    for (const secret of [fromMail, invitation[ANA]?.secret ?? ''])
      expect(linkStanding(revoked, secret, clock.now())).toMatchObject({ status: 410, message: /revoked/ });
    // A revoked link takes no further secret: the next e-mail carries none.
    await tellProgress(deps, ID, 'closed');
    expect(linkIn('closed', ANA)).toBeUndefined();
    expect(linkIn('closed', LEAD)?.person).toBe(personKey(ID, LEAD));

    await changeWorkLink(
      deps,
      { id: ID, title: 't', severity: 'SEV2' },
      { kind: 'reissue', email: ANA, reason: 'back' },
      {
        email: LEAD,
        role: 'sre_lead',
      },
    );
    const reissued = await links.getWorkLink(ID, ana);
    expect(reissued?.moreSecrets).toBeUndefined();
    for (const secret of [fromMail, invitation[ANA]?.secret ?? ''])
      expect(linkStanding(reissued, secret, clock.now())).toMatchObject({ status: 410, message: /replaced/ });
  });
});
