/**
 * The deadline of questions about effects, as a drill on the local stack: with the `manual`
 * payments provider a refund is a question to the responders; nobody answers it, and the clock is
 * read more slowly than the target (`CASEBOOK_DEADLINES`: answers in 3 s, the clock read every
 * 5 s). The escalation fires once, due the target after the question was asked — however often
 * the wait is entered again — and the execution keeps waiting in Act.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { approveRound, RESPONDER, SRE_LEAD, workLinks, workToDecide } from '../support/casework.ts';
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

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const ANSWERS_SECONDS = 3;
const DEADLINES = { answers: ANSWERS_SECONDS / 60, checkFloorSeconds: 5, checkCeilingSeconds: 5 };
const ACT_CLOCK = 'Read the clock: wait for people to settle the effects Act could not';
const ONE_CUSTOMER = [
  'customer_ref,email,name,amount,currency,product_area,payment_ref',
  'cus_ada,ada@example.com,Ada Lovelace,12.50,EUR,payments,ch_ada_001',
].join('\n');
const REFUND = {
  summary: 'Refund the double charge by hand.',
  apply: [{ kind: 'refund', amount: 'affected', obligation: 'tos' }],
  effects: [],
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts(), {
    environment: {
      CASEBOOK_DEADLINES: JSON.stringify(DEADLINES),
      CASEBOOK_PAYMENTS_PROVIDER: 'manual',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function mailsAbout(incidentId: string, about: string): Promise<InboxEmail[]> {
  return (await inbox(stack)).filter(
    (e) => e.subject.includes(`${incidentId}:`) && e.subject.includes(about),
  );
}

async function clockReads(incidentId: string): Promise<number> {
  return (await executionHistory(stack, incidentId)).filter(
    (e) => e.type?.endsWith('StateEntered') && e.stateEnteredEventDetails?.name === ACT_CLOCK,
  ).length;
}

type Event = { type: string; key?: string; at: string; detail?: Record<string, unknown> };

describe("the deadline of Act's questions on the local stack, with a target of seconds", () => {
  it('escalates unanswered questions once, due the target after they were asked, and keeps waiting', async () => {
    const opened = await postAlert(stack, alert);
    expect(opened.status).toBe(201);
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
    await workToDecide(link, ONE_CUSTOMER, REFUND);
    await approveRound(stack, incidentId);

    // The refund is a question to the responder, which nobody answers.
    await waitFor('the question about the refund', async () => {
      const mails = await mailsAbout(incidentId, 'needs you (by hand)');
      return mails.length > 0 ? mails : undefined;
    });
    const escalations = await waitFor(
      'the answers escalation',
      async () => {
        const mails = await mailsAbout(incidentId, 'Questions about effects have waited');
        return mails.length >= 2 ? mails : undefined;
      },
      40_000,
    );
    expect(escalations.flatMap((m) => m.destination.to).sort()).toEqual([RESPONDER, SRE_LEAD].sort());

    // The wait is entered again and again (each look at the clock a new wait): nobody hears twice.
    const reads = await clockReads(incidentId);
    await waitFor(
      'three more looks at the clock',
      async () => ((await clockReads(incidentId)) >= reads + 3 ? true : undefined),
      40_000,
    );
    expect(await mailsAbout(incidentId, 'Questions about effects have waited')).toHaveLength(2);
    const timeline = (await getCase(stack, incidentId)).timeline as unknown as Event[];
    const escalated = timeline.filter((e) => e.type === 'escalated' && e.detail?.kind === 'answers');
    expect(escalated).toHaveLength(1);
    const asked = timeline.find((e) => e.type === 'effect_needs_person');
    expect(escalated[0]?.detail?.due).toBe(
      new Date(Date.parse(asked?.at ?? '') + ANSWERS_SECONDS * 1000).toISOString(),
    );
    expect(await executionStatus(stack, incidentId)).toBe('RUNNING');
    expect((await getCase(stack, incidentId)).incident.phase).toBe('Act');
  }, 120_000);
});
