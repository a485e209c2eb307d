/**
 * Issue 10's acceptance, end to end on the local stack, driven only through the e-mailed links and
 * HTTP: an alert opens an incident; a responder acknowledges, contains it (two actions, one RISKY),
 * assesses the impact, uploads three customers in two currencies and writes a plan (refund on the
 * ToS line, credit on the brand line, an apology); the triangle approves; Act carries it out; the
 * postmortem closes it. Then the case says who changed each status, the deadlines, MTTA/MTTR and
 * the plan's totals by line, and no customer address is anywhere but the customer list — not in
 * the case, and not in the Step Functions history, which cannot be erased.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import {
  approveRound,
  chargedCustomers,
  closeCase,
  done,
  inPhase,
  POSTMORTEM,
  RESPONDER,
  SRE_LEAD,
  THREE_CUSTOMERS,
  work,
  workLinks,
  workroom,
  workToDecide,
} from '../support/casework.ts';
import {
  executionHistory,
  freePorts,
  getCase,
  inbox,
  postAlert,
  start,
  tempDataDir,
} from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
});
afterAll(() => stack?.close());

describe('casework: people take an incident from Detect to CLOSED', () => {
  it('goes through every phase on the links people were sent, and the case tells it', async () => {
    const opened = await postAlert(stack, alert);
    expect(opened.status).toBe(201);
    const { incidentId } = (await opened.json()) as { incidentId: string };

    // Each responder and the SRE lead got a personal link; the incident waits for them.
    const links = await workLinks(stack, incidentId);
    expect([...links.keys()].sort()).toEqual([RESPONDER, SRE_LEAD].sort());
    const link = links.get(RESPONDER) as string;
    await inPhase(link, 'Contain');
    const waiting = await workroom(link);
    expect(waiting.incident.status).toBe('OPEN');
    expect(waiting.asked).toMatchObject({ action: 'acknowledge' });

    const customers = await chargedCustomers(stack, THREE_CUSTOMERS);
    await workToDecide(link, customers);
    await inPhase(link, 'Decide');
    await approveRound(stack, incidentId);
    await inPhase(link, 'Learn', 60_000);
    const closed = await closeCase(stack, incidentId, { link });

    // Each status change, with who and why.
    const changes = closed.timeline
      .filter((e) => e.type === 'status_changed')
      .map((e) => (e as unknown as { detail: { from: string; to: string; by: string } }).detail);
    expect(changes.map((c) => `${c.from}→${c.to} by ${c.by}`)).toEqual([
      `OPEN→INVESTIGATING by ${RESPONDER}`,
      `INVESTIGATING→MITIGATED by ${RESPONDER}`,
      'MITIGATED→RESOLVED by casebook',
      'RESOLVED→CLOSED by casebook',
    ]);
    const view = closed as unknown as {
      deadlines: { kind: string; due: string; metAt?: string }[];
      metrics: Record<string, number>;
      incident: {
        plan: {
          totals: {
            kind: string;
            currency: string | null;
            obligation: string;
            minor: number;
            count: number;
          }[];
        };
      };
    };
    expect(view.deadlines.map((d) => d.kind)).toEqual(['response', 'resolution', 'postmortem']);
    expect(view.deadlines.every((d) => d.metAt)).toBe(true);
    expect(view.metrics.timeToAcknowledgeSeconds).toBeGreaterThanOrEqual(0);
    expect(view.metrics.timeToResolveSeconds).toBeGreaterThanOrEqual(
      view.metrics.timeToAcknowledgeSeconds as number,
    );
    expect(view.incident.plan.totals).toEqual([
      { kind: 'credit', currency: 'EUR', obligation: 'brand', count: 3, minor: 1500 },
      { kind: 'notice', currency: null, obligation: 'brand', count: 3, minor: 0 },
      { kind: 'refund', currency: 'EUR', obligation: 'tos', count: 2, minor: 1975 },
      { kind: 'refund', currency: 'JPY', obligation: 'tos', count: 1, minor: 1200 },
    ]);
    // The RISKY containment action and every approval are decisions on record.
    expect(closed.decisions.map((d) => d.kind)).toEqual(expect.arrayContaining(['containment', 'approval']));

    // No customer address outside the customer list: not in the case, not in the execution's history.
    const addresses = ['ada@example.com', 'grace@example.com', 'alan@example.com'];
    const names = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'];
    const caseText = JSON.stringify(await getCase(stack, incidentId));
    const historyText = JSON.stringify(await executionHistory(stack, closed.incident.executionName));
    for (const secret of [...addresses, ...names]) {
      expect(caseText).not.toContain(secret);
      expect(historyText).not.toContain(secret);
    }
    // …and yet the customers got their notices.
    const notices = (await inbox(stack)).filter((m) => addresses.includes(m.destination.to[0] ?? ''));
    expect(notices.map((m) => m.destination.to[0]).sort()).toEqual([...addresses].sort());
  }, 180_000);

  it('refuses what a link may not do, and writes nothing', async () => {
    const opened = await postAlert(
      stack,
      alert
        .replace('5f1a4c2e9b7d3a80', '5f1a4c2e9b7d3a81')
        .replace('"PaymentDoubleCharge"', '"PaymentDoubleCharge2"'),
    );
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const links = await workLinks(stack, incidentId);
    const responder = links.get(RESPONDER) as string;
    const lead = links.get(SRE_LEAD) as string;
    await inPhase(responder, 'Contain');
    const before = JSON.stringify(await getCase(stack, incidentId));

    const answers = {
      wrongField: await work(responder, 'impact', { users: 'many' }),
      wrongPhase: await work(responder, 'postmortem', POSTMORTEM),
      wrongRole: await work(responder, 'severity', { severity: 'SEV1', reason: 'worse than thought' }),
      unknownLink: await work(
        responder.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        'note',
        { text: 'hi' },
      ),
      unknownAction: await work(responder, 'delete-everything', {}),
    };
    expect(answers.wrongField.status).toBe(400);
    expect(JSON.stringify(answers.wrongField.body)).toContain('users');
    expect(answers.wrongPhase.status).toBe(409);
    expect(String(answers.wrongPhase.body.message)).toContain('Learn');
    expect(answers.wrongRole.status).toBe(403);
    expect(answers.unknownLink.status).toBe(404);
    expect(answers.unknownAction.status).toBe(404);
    expect(JSON.stringify(await getCase(stack, incidentId))).toBe(before);

    // The SRE lead may change the severity: a Decision Log entry, and the deadlines move.
    const dueBefore = ((await workroom(lead)) as unknown as { deadlines: { kind: string; due: string }[] })
      .deadlines;
    await done(lead, 'severity', { severity: 'SEV2', reason: 'Fewer customers than feared' });
    const after = await getCase(stack, incidentId);
    expect(after.decisions.find((d) => d.kind === 'severity_change')).toMatchObject({ role: 'sre_lead' });
    const dueAfter = ((await workroom(lead)) as unknown as { deadlines: { kind: string; due: string }[] })
      .deadlines;
    expect(dueAfter.find((d) => d.kind === 'response')?.due).not.toBe(
      dueBefore.find((d) => d.kind === 'response')?.due,
    );
    // The incident still waits for containment, with the new deadline.
    await inPhase(responder, 'Contain');

    // Cancelled by the SRE lead as a false alarm: the execution ends in Succeed, the link says so.
    await done(lead, 'cancel', {
      reason: 'Duplicate of the first incident',
      outcome: 'false_alarm',
      world: 'RML2',
    });
    const cancelled = await getCase(stack, incidentId);
    expect(cancelled.incident.status).toBe('CANCELLED');
    expect((await work(responder, 'note', { text: 'too late' })).status).toBe(409);
  }, 120_000);
});
