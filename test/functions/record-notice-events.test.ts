/**
 * Recording SES's events about a notice, with the stores as in-memory stand-ins: each event once
 * on the ledger against its notice; a permanent bounce asks the responders once, after the
 * incident closed too, without touching the incident; an event that overtook Act's index is
 * tried again, one about no notice is dropped.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionReason, EffectRecord } from '../../functions/domain/effects.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { NoticeEvent, SentNotice } from '../../functions/domain/notice-events.ts';
import type { RecordNoticeEventsDeps } from '../../functions/use-cases/record-notice-events.ts';
import { NOT_YET_MS, recordNoticeEvent } from '../../functions/use-cases/record-notice-events.ts';
import { plainIncident } from '../support/incidents.ts';

const NOW = new Date('2026-12-07T10:00:00.000Z');
const SENT: SentNotice = {
  messageId: 'ses-1',
  incidentId: 'INC-2026-0007',
  planVersionId: '1',
  effectId: 'P1-E2',
  attempt: 1,
};

function setUp(status: Incident['status']) {
  const incident = { ...plainIncident(7), status } as Incident;
  let effect = {
    effectId: 'P1-E2',
    planVersion: 1,
    kind: 'notice',
    world: 'RML3',
    customerRef: 'cus_ada',
    counterparty: `cp_${'a'.repeat(32)}`,
    obligation: 'brand',
    progress: 'confirmed',
    attempt: 1,
    providerRef: 'ses-1',
  } as unknown as EffectRecord;
  const ledger = new Map<string, LedgerEntryDraft>();
  const asked: { effect: EffectRecord; reason: AttentionReason }[] = [];
  const timeline: string[] = [];
  const deps: RecordNoticeEventsDeps = {
    sentNotices: { find: async (id) => (id === SENT.messageId ? SENT : undefined) },
    incidents: {
      getIncident: async (id) => (id === incident.id ? incident : undefined),
      addTimelineEvent: async (_, e) => {
        timeline.push(e.key);
        return true;
      },
    },
    effects: {
      getEffect: async () => effect,
      advanceEffect: async (_i, _p, _e, from, change) => {
        if (effect.progress !== from.progress || effect.attempt !== from.attempt) return false;
        effect = { ...effect, ...change } as EffectRecord;
        return true;
      },
    },
    ledger: {
      append: async (_, draft) => {
        const created = !ledger.has(draft.idempotencyKey);
        if (created) ledger.set(draft.idempotencyKey, draft);
        return { created, entry: ledger.get(draft.idempotencyKey) as never };
      },
    },
    ask: async (_, e, reason) => {
      asked.push({ effect: e, reason });
    },
    clock: { now: () => NOW },
  };
  return { deps, ledger, asked, timeline, incident, effect: () => effect };
}

const bounce: NoticeEvent = {
  type: 'Bounce',
  outcome: 'bounced',
  messageId: 'ses-1',
  at: '2026-12-07T09:59:00.000Z',
  eventKey: 'Bounce:fb-1',
  undeliverable: true,
  recipients: ['ada@example.com'],
  detail: { bounceType: 'Permanent', bounceSubType: 'General' },
};

describe('recording what became of a notice', () => {
  it('puts a bounce after the close on the ledger once and asks about it, leaving the incident closed', async () => {
    const { deps, ledger, asked, timeline, incident, effect } = setUp('CLOSED');
    const first = await recordNoticeEvent(deps, bounce);
    // SNS and SQS deliver at least once: the same event again adds nothing.
    await recordNoticeEvent(deps, bounce);
    expect(first).toEqual({
      recorded: true,
      incidentId: incident.id,
      effectId: 'P1-E2',
      outcome: 'bounced',
      asked: true,
    });
    expect([...ledger.values()]).toHaveLength(1);
    const [entry] = [...ledger.values()];
    expect(entry).toMatchObject({
      kind: 'notice_event',
      log: 'effect',
      effectId: 'P1-E2',
      providerRef: 'ses-1',
      effectiveAt: bounce.at,
      detail: { outcome: 'bounced', bounceType: 'Permanent', attempt: 1 },
    });
    expect(JSON.stringify(entry)).not.toContain('ada@example.com');
    expect(effect()).toMatchObject({ progress: 'attention', attention: { reason: 'bounced' } });
    // Asked on each delivery; asking again changes nothing (the questions' own rule).
    expect(asked.map((a) => a.reason)).toEqual(['bounced', 'bounced']);
    expect(incident.status).toBe('CLOSED');
    expect(new Set(timeline).size).toBe(1);
  });

  it('records a delivery without asking anyone or moving the notice', async () => {
    const { deps, asked, effect, timeline } = setUp('RESOLVED');
    const delivered = await recordNoticeEvent(deps, {
      ...bounce,
      type: 'Delivery',
      outcome: 'delivered',
      eventKey: 'Delivery:x',
      undeliverable: false,
      detail: {},
    });
    expect(delivered).toMatchObject({ recorded: true, outcome: 'delivered', asked: false });
    expect(asked).toEqual([]);
    expect(timeline).toEqual([]);
    expect(effect().progress).toBe('confirmed');
  });

  it('does not ask about an attempt a later one replaced', async () => {
    const { deps, asked, effect } = setUp('RESOLVED');
    await deps.effects.advanceEffect('', '', '', { progress: 'confirmed', attempt: 1 }, { attempt: 2 });
    expect((await recordNoticeEvent(deps, bounce)).recorded).toBe(true);
    expect(asked).toEqual([]);
    expect(effect()).toMatchObject({ progress: 'confirmed', attempt: 2 });
  });

  it('tries again an event about a message no notice is known by yet, and drops an old one', async () => {
    const { deps, ledger } = setUp('RESOLVED');
    expect(await recordNoticeEvent(deps, { ...bounce, messageId: 'ses-2' })).toEqual({
      recorded: false,
      why: 'not-yet',
    });
    const old = new Date(NOW.getTime() - NOT_YET_MS - 1000).toISOString();
    expect(await recordNoticeEvent(deps, { ...bounce, messageId: 'ses-2', at: old })).toEqual({
      recorded: false,
      why: 'not-a-notice',
    });
    expect(ledger.size).toBe(0);
  });
});
