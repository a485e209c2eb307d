/**
 * Delivery evidence on the local stack: notices go through Act and the real SES emulator to SES's
 * mailbox-simulator addresses; the local poller (local/ses-events/) hands the events SES would
 * publish, SNS-wrapped, to the `ses-events` handler; the ledger records delivered, bounced and
 * complained against the right notices, the responders are asked about each bounce, and the case
 * file says how many customers were told.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Customer } from '../../functions/domain/plan.ts';
import { apologyPlan, approvedForAct, incidentForAct } from '../support/act-setup.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const ADDRESSES = {
  cus_ada: 'success+ada@simulator.amazonses.com',
  cus_bo: 'bounce+bo@simulator.amazonses.com',
  cus_cy: 'complaint+cy@simulator.amazonses.com',
  cus_di: 'suppressionlist+di@simulator.amazonses.com',
} as const;

interface Entry {
  kind: string;
  state?: string;
  effectId?: string;
  providerRef?: string;
  counterparty?: string;
  detail: Record<string, unknown>;
}

describe('what became of the notices', () => {
  it('is on the ledger against each notice: delivered, bounced, complained; a bounce is a question; the case file counts who was told', async () => {
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, await freePorts());
    const target = stack;
    const customers: Customer[] = Object.entries(ADDRESSES).map(([customerRef, email]) => ({
      customerRef,
      email,
      name: customerRef.slice(4),
      productArea: 'payments',
    }));
    const incident = incidentForAct(8, 'INC-2026-8400', 'notice-delivery');
    await approvedForAct(
      stack,
      dataDir,
      incident,
      customers,
      apologyPlan('Apologise to every affected customer'),
    );

    // Which message SES took for each customer, from the emulator's own store.
    const sent = await waitFor(
      'the four notices in the emulator',
      async () => {
        const mails = await inbox(target);
        const byAddress = new Map<string, string>();
        for (const m of mails)
          for (const to of m.destination.to)
            if (Object.values(ADDRESSES).includes(to as never)) byAddress.set(to, m.messageId);
        return byAddress.size === 4 ? byAddress : undefined;
      },
      90_000,
    );
    const expected = {
      [ADDRESSES.cus_ada]: ['delivered'],
      [ADDRESSES.cus_bo]: ['bounced'],
      [ADDRESSES.cus_cy]: ['complained', 'delivered'],
      [ADDRESSES.cus_di]: ['bounced'],
    };
    const ledger = await waitFor(
      'every event on the ledger',
      async () => {
        const entries = (await getCase(target, incident.id)).ledger as unknown as Entry[];
        const events = entries.filter((e) => e.kind === 'notice_event');
        return events.length >= 5 ? entries : undefined;
      },
      60_000,
    );
    const events = ledger.filter((e) => e.kind === 'notice_event');
    expect(events).toHaveLength(5);
    for (const [address, outcomes] of Object.entries(expected)) {
      const messageId = sent.get(address);
      // The notice SES took for this address, as Act recorded it: its effect and customer.
      const notice = ledger.find(
        (e) => e.kind === 'notice' && e.state === 'confirmed' && e.providerRef === messageId,
      );
      expect(notice, address).toBeDefined();
      const about = events.filter((e) => e.providerRef === messageId);
      expect(about.map((e) => e.detail.outcome).sort(), address).toEqual(outcomes);
      for (const e of about) {
        expect(e.effectId).toBe(notice?.effectId);
        expect(e.counterparty).toBe(notice?.counterparty);
      }
    }
    // The ledger names customers by pseudonym only.
    expect(JSON.stringify(events)).not.toContain('simulator.amazonses.com');
    const suppressed = events.find((e) => e.providerRef === sent.get(ADDRESSES.cus_di));
    expect(suppressed?.detail).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'Suppressed' });

    // Each bounced notice is a question to the responders, about that very effect.
    const bouncedEffects = [ADDRESSES.cus_bo, ADDRESSES.cus_di].map(
      (address) => ledger.find((e) => e.kind === 'notice' && e.providerRef === sent.get(address))?.effectId,
    );
    const questions = await waitFor(
      'the questions about the bounces',
      async () => {
        const asked = (await inbox(target)).filter(
          (m) => m.destination.to.includes('responder@casebook.local') && m.subject.includes('(bounced)'),
        );
        return asked.length >= 2 ? asked : undefined;
      },
      30_000,
    );
    for (const effectId of bouncedEffects) {
      const mail = questions.find((m) =>
        (m.body.text ?? '').includes(`/effects/${incident.id}.${effectId}.1.`),
      );
      expect(mail, effectId).toBeDefined();
      const link = /(http:\/\/\S+\/effects\/\S+)/.exec(mail?.body.text ?? '')?.[1] as string;
      const page = await (await fetch(link)).text();
      expect(page).toContain('bounced');
    }
    // Delivered and complained notices are asked about by nobody.
    expect(questions).toHaveLength(2);

    // The case file says how many were told, bounced and complained.
    const caseFile = await (
      await fetch(`${target.endpoints.api}/incidents/${incident.id}/case-file.yaml`)
    ).text();
    const counted = (type: string) =>
      new RegExp(`- type: ${type}\\n\\s+world: RML\\d\\n\\s+channel: email\\n\\s+count: (\\d+)`).exec(
        caseFile,
      )?.[1];
    expect(counted('user_email_delivered')).toBe('2');
    expect(counted('user_email_bounced')).toBe('2');
    expect(counted('user_email_complained')).toBe('1');
  }, 240_000);
});
