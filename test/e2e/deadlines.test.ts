/**
 * Issue 10's deadline acceptance, end to end on the local stack with targets of seconds
 * (`CASEBOOK_DEADLINES`): nobody acknowledges in time, so the SRE lead and the responder are
 * e-mailed and the timeline says `escalated`, while the execution keeps waiting in Contain; the
 * responder then acts through the workroom link and the incident moves on. The resolution target
 * passes too: an SLO breach, one more escalation, and no e-mail twice however often the clock is
 * read. Personal data starts the regulatory clock, which Legal is told of and escalated to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { done, inPhase, RESPONDER, SRE_LEAD, workLinks } from '../support/casework.ts';
import type { InboxEmail } from '../support/local-stack.ts';
import {
  executionHistory,
  executionStatus,
  freePorts,
  getCase,
  inbox,
  postAlert,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const LEGAL = 'legal@casebook.local';
const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

// The alert is SEV1: respond within 3 s, resolve within 12 s; the regulator within 3 s of learning
// that personal data is involved. Waits look at the clock every second.
const DEADLINES = {
  SEV1: { response: 0.05, resolution: 0.2 },
  regulatory: 0.05,
  checkFloorSeconds: 1,
  checkCeilingSeconds: 1,
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts(), {
    environment: { CASEBOOK_DEADLINES: JSON.stringify(DEADLINES) },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** How often the execution entered `state`. */
async function entries(incidentId: string, state: string): Promise<number> {
  return (await executionHistory(stack, incidentId)).filter(
    (e) => e.type?.endsWith('StateEntered') && e.stateEnteredEventDetails?.name === state,
  ).length;
}

function status(incidentId: string): Promise<string | undefined> {
  return executionStatus(stack, incidentId);
}

/** The e-mails about `incidentId` whose subject says `about`, by whom they went to. */
async function mailsAbout(incidentId: string, about: string): Promise<InboxEmail[]> {
  return (await inbox(stack)).filter((e) => e.subject.includes(incidentId) && e.subject.includes(about));
}

function recipients(mails: readonly InboxEmail[]): string[] {
  return mails.flatMap((m) => m.destination.to).sort();
}

/** Waits until the execution has entered `state` `more` more times than it had. */
async function looksAgain(incidentId: string, state: string, more: number): Promise<void> {
  const before = await entries(incidentId, state);
  await waitFor(`${more} more looks at the clock`, async () =>
    (await entries(incidentId, state)) >= before + more ? true : undefined,
  );
}

describe('deadlines on the local stack, with targets of seconds', () => {
  it('escalates missed deadlines once each, keeps waiting, and moves on when people act', async () => {
    const opened = await postAlert(stack, alert);
    expect(opened.status).toBe(201);
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const links = await workLinks(stack, incidentId);
    const responder = links.get(RESPONDER) as string;
    const lead = links.get(SRE_LEAD) as string;

    // Nobody acknowledges: the response target passes.
    const response = await waitFor('the response escalation', async () => {
      const mails = await mailsAbout(incidentId, 'response target passed');
      return mails.length >= 2 ? mails : undefined;
    });
    expect(recipients(response)).toEqual([RESPONDER, SRE_LEAD].sort());
    expect(response[0]?.body.text).toContain('The incident keeps waiting for people');
    const escalated = (await getCase(stack, incidentId)).timeline.filter((e) => e.type === 'escalated');
    expect(escalated.map((e) => (e as unknown as { detail: { kind: string } }).detail.kind)).toEqual([
      'response',
    ]);

    // …and the incident still waits in Contain: no Fail, no halt, the clock read again and again.
    await looksAgain(incidentId, 'Read the clock: wait for containment', 2);
    expect(await status(incidentId)).toBe('RUNNING');
    const waiting = await getCase(stack, incidentId);
    expect(waiting.incident).toMatchObject({ phase: 'Contain', status: 'OPEN' });
    expect(waiting.timeline.map((e) => e.type)).not.toContain('halted');
    const entered = (await executionHistory(stack, incidentId))
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).not.toContain('Record the failure');
    expect(entered.at(-1)).toMatch(/^(Wait for containment|Read the clock: wait for containment)$/);
    expect(await mailsAbout(incidentId, 'response target passed')).toHaveLength(2);

    // The responder acts through the workroom link; the incident moves on to Understand.
    await done(responder, 'acknowledge');
    await done(responder, 'contain', {
      actions: [{ description: 'Feature flag payments.retry off', safety: 'SAFE_REVERSIBLE', world: 'RML2' }],
      contained: true,
    });
    await inPhase(responder, 'Understand');

    // The resolution target passes: an SLO breach, escalated once more.
    const resolution = await waitFor('the resolution escalation', async () => {
      const mails = await mailsAbout(incidentId, 'resolution target passed');
      return mails.length >= 2 ? mails : undefined;
    });
    expect(recipients(resolution)).toEqual([RESPONDER, SRE_LEAD].sort());
    const breached = (await getCase(stack, incidentId)) as Awaited<ReturnType<typeof getCase>> & {
      incident: { sloBreachedAt?: string };
    };
    expect(breached.incident.sloBreachedAt).toEqual(expect.any(String));
    expect(breached.timeline.filter((e) => e.type === 'slo_breached')).toHaveLength(1);

    // Personal data: the regulatory clock starts, and Legal is told by when the regulator must hear.
    await done(responder, 'impact', {
      users: 37,
      transactions: 41,
      assets: ['money', 'pii'],
      from: new Date(Date.now() - 3_600_000).toISOString(),
      summary: 'Payments charged twice; the receipts went to the wrong customers.',
    });
    const shown = await waitFor('Legal told of the regulatory clock', async () => {
      const mails = await mailsAbout(incidentId, 'notify the regulator by');
      return mails.length > 0 ? mails : undefined;
    });
    expect(recipients(shown)).toEqual([LEGAL]);
    expect(shown[0]?.body.text).toContain(`tell the SRE lead (${SRE_LEAD})`);

    // Nobody records the notification: Legal, the SRE lead and the responder hear of it.
    const regulatory = await waitFor('the regulatory escalation', async () => {
      const mails = await mailsAbout(incidentId, 'regulatory clock ran out');
      return mails.length >= 3 ? mails : undefined;
    });
    expect(recipients(regulatory)).toEqual([LEGAL, RESPONDER, SRE_LEAD].sort());
    await done(lead, 'regulator', { reference: 'DPA-2026-118', notifiedAt: new Date().toISOString() });

    // However often the clock is read now, nobody hears of any of it again.
    await looksAgain(incidentId, 'Read the clock: wait for a submitted plan', 3);
    const mails = await inbox(stack);
    const about = (text: string) =>
      mails.filter((m) => m.subject.includes(incidentId) && m.subject.includes(text));
    expect(about('response target passed')).toHaveLength(2);
    expect(about('resolution target passed')).toHaveLength(2);
    expect(about('notify the regulator by')).toHaveLength(1);
    expect(about('regulatory clock ran out')).toHaveLength(3);
    const after = (await getCase(stack, incidentId)) as Awaited<ReturnType<typeof getCase>> & {
      deadlines: { kind: string; metAt?: string; missed: boolean }[];
    };
    expect(
      after.timeline
        .filter((e) => e.type === 'escalated')
        .map((e) => (e as unknown as { detail: { kind: string } }).detail.kind),
    ).toEqual(['response', 'resolution', 'regulatory']);
    expect(after.timeline.filter((e) => e.type === 'deadline_shown')).toHaveLength(1);
    expect(after.deadlines.find((d) => d.kind === 'regulatory')?.metAt).toEqual(expect.any(String));
    expect(await status(incidentId)).toBe('RUNNING');
    expect(after.incident.phase).toBe('Understand');

    // The SRE lead ends it (a drill): the execution succeeds, as a person's decision does.
    await done(lead, 'cancel', { reason: 'Deadline drill', outcome: 'false_alarm', world: 'RML2' });
    await waitFor('the execution to end', async () =>
      (await status(incidentId)) === 'SUCCEEDED' ? true : undefined,
    );
  }, 90_000);
});
