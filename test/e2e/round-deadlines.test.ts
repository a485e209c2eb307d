/**
 * Issue 11's deadline acceptance for an approval round, end to end on the local stack with a round
 * of seconds (`CASEBOOK_DEADLINES`: `decision`, `escalation`): SRE approves at once; Business does
 * not, so Business's primary is reminded at half the deadline (no link in the reminder), its
 * backup is asked at the deadline (a link of their own, same round, same role), and at the final
 * timeout the round is escalated to the SRE lead and the responders — while the execution keeps
 * waiting in Decide. The backup then decides, late, and the incident resumes into Act; the
 * primary's link now says who decided for the role, and refuses a second decision.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { openedToDecide, RESPONDER, ROSTER_WITH_BUSINESS_BACKUP, SRE_LEAD } from '../support/casework.ts';
import type { InboxEmail } from '../support/local-stack.ts';
import {
  approvalLinks,
  approve,
  decide,
  executionHistory,
  executionStatus,
  freePorts,
  getCase,
  inbox,
  resolvedCase,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

// A round of 24 s: the undecided reminded at 12 s, the backups asked at 24 s, escalated at 36 s.
const DEADLINES = { decision: 0.4, escalation: 0.2, checkFloorSeconds: 1 };

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts(), {
    environment: {
      CASEBOOK_DEADLINES: JSON.stringify(DEADLINES),
      // Business has a backup; the double charge of two customers is small: SRE and Business decide.
      CASEBOOK_APPROVAL_POLICY: JSON.stringify(ROSTER_WITH_BUSINESS_BACKUP),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** The e-mails about `incidentId` whose subject says `about`. */
async function mailsAbout(incidentId: string, about: string): Promise<InboxEmail[]> {
  return (await inbox(stack)).filter(
    (e) => e.subject.includes(`${incidentId}:`) && e.subject.includes(about),
  );
}

const to = (mails: readonly InboxEmail[]) => mails.flatMap((m) => m.destination.to).sort();

type Event = { type: string; at: string; detail?: Record<string, unknown> };

describe('the deadlines of an approval round on the local stack, with a round of seconds', () => {
  it('reminds, asks the backup, escalates and waits on; a late decision by the backup resumes the incident', async () => {
    const { incidentId } = await openedToDecide(stack, alert);
    const links = await approvalLinks(stack, incidentId, 1);
    expect([...links.keys()].sort()).toEqual(['business', 'sre']);
    expect((await approve(links.get('sre') as string, 'Contained; the apology is right')).status).toBe(303);

    // Half the deadline: Business's primary is reminded, once, with no link of its own.
    const reminders = await waitFor(
      'the reminder',
      async () => {
        const mails = await mailsAbout(incidentId, 'reminder — Business approval needed');
        return mails.length > 0 ? mails : undefined;
      },
      40_000,
    );
    expect(to(reminders)).toEqual(['bo@casebook.local']);
    expect(reminders[0]?.body.text).not.toContain('/approvals/');
    expect(reminders[0]?.body.text).toContain('Bea Business (bea@casebook.local) is asked as your backup');

    // The deadline: the backup is asked by a link of their own, for the same round and role.
    const backupMail = await waitFor(
      'the backup asked',
      async () =>
        (await mailsAbout(incidentId, 'Business approval needed')).find(
          (m) => m.destination.to[0] === 'bea@casebook.local',
        ),
      40_000,
    );
    expect(backupMail.body.text).toContain("You are asked as Business's backup: Bo Business");
    const backupLink = new RegExp(
      `(http://\\S+/approvals/${incidentId}\\.1\\.business\\.[A-Za-z0-9_-]{43})`,
    ).exec(backupMail.body.text ?? '')?.[1] as string;
    expect(backupLink).toBeDefined();
    expect(backupLink).not.toBe(links.get('business'));

    // The final timeout: escalated to the SRE lead and the responder, naming who is awaited…
    const escalations = await waitFor(
      'the escalation',
      async () => {
        const mails = await mailsAbout(incidentId, 'escalated — The approval round is still undecided');
        return mails.length >= 2 ? mails : undefined;
      },
      40_000,
    );
    expect(to(escalations)).toEqual([RESPONDER, SRE_LEAD].sort());
    expect(escalations[0]?.body.text).toContain(
      '- Business: Bo Business (bo@casebook.local); backup Bea Business (bea@casebook.local) asked',
    );

    // …and the execution keeps waiting in Decide, having read the clock at each moment.
    const waiting = await getCase(stack, incidentId);
    expect(waiting.incident).toMatchObject({ phase: 'Decide', status: 'MITIGATED' });
    expect(await executionStatus(stack, incidentId)).toBe('RUNNING');
    const looks = (await executionHistory(stack, incidentId)).filter(
      (e) =>
        e.type === 'TaskStateEntered' &&
        e.stateEnteredEventDetails?.name === 'Read the clock: wait for the approvers to decide',
    );
    // Before the wait, then woken at half-time, at the deadline and at the final timeout.
    expect(looks.length).toBeGreaterThanOrEqual(4);
    const timeline = waiting.timeline as unknown as Event[];
    const moments = timeline.filter(
      (e) =>
        e.type === 'approval_reminded' ||
        (e.type === 'approval_requested' && e.detail?.seat === 'backup') ||
        (e.type === 'escalated' && e.detail?.kind === 'decision'),
    );
    expect(moments.map((e) => e.type)).toEqual(['approval_reminded', 'approval_requested', 'escalated']);
    expect(waiting.timeline.map((e) => e.type)).not.toContain('halted');

    // Late, the backup approves for Business: the round is decided and the incident resumes.
    expect((await decide(backupLink, 'approve', 'Bo is away; the apology is right')).status).toBe(303);
    const resolved = await resolvedCase(stack, incidentId, 60_000);
    expect(resolved.incident.approvalRound?.decided).toMatchObject({ verdict: 'approved' });
    expect(
      resolved.decisions.filter((d) => d.kind === 'approval').map((d) => [d.role, d.actor, d.decision]),
    ).toEqual([
      ['sre', 'Sam SRE <sam@casebook.local>', 'approve'],
      ['business', 'Bea Business <bea@casebook.local>', 'approve'],
    ]);

    // The primary's link says who decided for the role, and decides nothing more.
    const page = await (await fetch(links.get('business') as string)).text();
    expect(page).toMatch(
      /<strong>Approved<\/strong> by <bdi>Bea Business<\/bdi> \(bea@casebook\.local\), as backup,/,
    );
    expect(page).not.toContain('Record my decision');
    expect((await decide(links.get('business') as string, 'reject', 'I was away')).status).toBe(409);

    // Each moment happened once, however often the clock was read.
    expect(await mailsAbout(incidentId, 'reminder —')).toHaveLength(1);
    expect(
      (await mailsAbout(incidentId, 'Business approval needed')).filter(
        (m) => m.destination.to[0] === 'bea@casebook.local',
      ),
    ).toHaveLength(1);
    expect(await mailsAbout(incidentId, 'escalated — The approval round')).toHaveLength(2);
  }, 150_000);
});
