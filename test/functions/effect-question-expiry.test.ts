/**
 * A question's link ends with its incident, whichever way it ends: the use case answers 410 for a
 * closed or a cancelled incident — only once the link is known to be genuine — and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { EffectQuestion } from '../../functions/domain/effects.ts';
import { formatQuestionId } from '../../functions/domain/effects.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import type { AnswerDeps } from '../../functions/use-cases/effect-questions.ts';
import { answerQuestion, viewQuestion } from '../../functions/use-cases/effect-questions.ts';
import { plainIncident } from '../support/incidents.ts';

const SECRET = 'S'.repeat(43);

function deps(status: Incident['status']): { deps: AnswerDeps; writes: string[] } {
  // The committed plan names the version the effect is read under.
  const plan = { version: 1, versionId: '1-01JDZ0000000000000000000AA' } as NonNullable<Incident['plan']>;
  const incident = { ...plainIncident(1), status, phase: 'Learn' as const, plan };
  const question: EffectQuestion = {
    incidentId: incident.id,
    effectId: 'P1-E1',
    attempt: 1,
    reason: 'manual',
    detail: 'Refund by hand',
    askedAt: '2026-11-22T10:00:00.000Z',
    links: { [sha256Hex(SECRET)]: 'responder@example.com' },
  };
  const writes: string[] = [];
  const write = (name: string) => async () => {
    writes.push(name);
    return true as never;
  };
  return {
    writes,
    deps: {
      questions: {
        getQuestion: async () => question,
        answerQuestion: write('answerQuestion'),
        openQuestions: async () => [],
      } as unknown as AnswerDeps['questions'],
      waits: {} as AnswerDeps['waits'],
      incidents: { getIncident: async () => incident, addTimelineEvent: write('addTimelineEvent') },
      effects: {
        getEffect: async () => ({ effectId: 'P1-E1', kind: 'refund', customerRef: 'cus_1' }),
        getCustomer: async () => undefined,
        advanceEffect: write('advanceEffect'),
      } as unknown as AnswerDeps['effects'],
      ledger: {
        append: write('append'),
        read: async () => [],
        readHead: async () => undefined,
        readPage: async () => ({ items: [] }),
      },
      workflow: {} as AnswerDeps['workflow'],
      clock: { now: () => new Date('2026-11-23T10:00:00.000Z') },
    },
  };
}

const id = (secret: string) =>
  formatQuestionId({ incidentId: plainIncident(1).id, effectId: 'P1-E1', attempt: 1, secret });

describe('a question link once its incident has ended', () => {
  for (const status of ['CLOSED', 'CANCELLED'] as const) {
    it(`answers 410 to the view and to an answer when the incident is ${status}, writing nothing`, async () => {
      const { deps: d, writes } = deps(status);
      await expect(viewQuestion(d, id(SECRET))).rejects.toMatchObject({
        name: 'GoneError',
        message: expect.stringContaining(status === 'CLOSED' ? 'closed' : 'cancelled'),
      });
      await expect(
        answerQuestion(d, id(SECRET), { answer: 'done-by-hand', reference: 're_1', note: '' }),
      ).rejects.toMatchObject({ name: 'GoneError' });
      expect(writes).toEqual([]);
      // A forged link says nothing about the incident either way.
      await expect(viewQuestion(d, id('F'.repeat(43)))).rejects.toMatchObject({ name: 'NotFoundError' });
    });
  }

  it('still opens while the incident is open', async () => {
    const { deps: d } = deps('RESOLVED');
    await expect(viewQuestion(d, id(SECRET))).resolves.toMatchObject({ askedOf: 'responder@example.com' });
  });
});

describe('a question about a notice that bounced after the incident closed', () => {
  it('stays answerable: how the customer was reached goes on the ledger beside the notice SES took, and the effect is confirmed again', async () => {
    const { deps: d } = deps('CLOSED');
    const bounced: EffectQuestion = {
      incidentId: plainIncident(1).id,
      effectId: 'P1-E1',
      attempt: 1,
      reason: 'bounced',
      detail: 'The address bounced the notice',
      askedAt: '2026-11-23T09:00:00.000Z',
      links: { [sha256Hex(SECRET)]: 'responder@example.com' },
    };
    const appended: { idempotencyKey: string; state?: string; providerRef?: string }[] = [];
    const moved: unknown[] = [];
    const answering: AnswerDeps = {
      ...d,
      questions: { ...d.questions, getQuestion: async () => bounced, answerQuestion: async () => true },
      waits: { waitingToken: async () => undefined } as unknown as AnswerDeps['waits'],
      effects: {
        ...d.effects,
        getEffect: async () => ({
          effectId: 'P1-E1',
          kind: 'notice',
          world: 'RML3',
          customerRef: 'cus_1',
          progress: 'attention',
          attempt: 1,
          providerRef: 'ses-1',
        }),
        advanceEffect: async (...args: unknown[]) => {
          moved.push(args[4]);
          return true;
        },
      } as unknown as AnswerDeps['effects'],
      incidents: { ...d.incidents, addTimelineEvent: async () => true },
      ledger: {
        ...d.ledger,
        append: async (_: string, draft: (typeof appended)[number]) => {
          appended.push(draft);
          return { created: true, entry: { ...draft, seq: appended.length } } as never;
        },
      } as unknown as AnswerDeps['ledger'],
    };
    const { view } = await answerQuestion(answering, id(SECRET), {
      answer: 'done-by-hand',
      reference: 'ticket-4711',
      note: 'Reached by phone and told',
    });
    expect(view.incident.status).toBe('CLOSED');
    // The Decision Log's answer, then an Effect Ledger entry of its own: the notice's own
    // `confirmed` (SES took it) is already there under attempt 1's confirmed key.
    expect(appended.map((e) => e.idempotencyKey)).toEqual(['question:P1-E1:1', 'effect:P1-E1:1:reached']);
    expect(appended[1]).toMatchObject({ state: 'confirmed', providerRef: 'ticket-4711' });
    expect(moved).toEqual([expect.objectContaining({ progress: 'confirmed' })]);
  });
});
