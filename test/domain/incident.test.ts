import { describe, expect, it } from 'vitest';
import type { NormalizedAlert } from '../../functions/domain/alert.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import {
  enterPhase,
  formatIncidentId,
  isIncidentId,
  nextExecutionName,
  openIncident,
  statusOnEntering,
} from '../../functions/domain/incident.ts';

const alert: NormalizedAlert = {
  source: 'alertmanager',
  correlationKey: 'alertmanager:abc',
  deliveryKey: 'd1',
  occurrences: ['f1@2026-11-22T09:00:00.000Z'],
  status: 'firing',
  title: 'Invoices sent to the wrong customers',
  labels: { category: 'external_misdelivery', severity: 'high' },
  annotations: {},
  alerts: [],
  startedAt: '2026-11-22T09:00:00.000Z',
  customerContacts: ['a@example.com', 'b@example.com'],
};

const opened = (): Incident =>
  openIncident(formatIncidentId(2026, 7), alert, classify(alert.labels), '2026-11-22T09:05:00.000Z');

describe('incident ids', () => {
  it('accepts only ids written exactly as Casebook writes them, within the key-size bound', () => {
    expect(
      ['INC-2026-0001', 'INC-2026-9999', 'INC-2026-10000', 'INC-2026-999999999'].filter(isIncidentId),
    ).toHaveLength(4);
    for (const id of [
      `INC-2026-${'1'.repeat(2100)}`,
      'INC-2026-1000000000',
      'INC-2026-00001',
      'INC-2026-01234',
      'INC-2026-0000',
      'INC-2026-001',
      'INC-26-0001',
      'inc-2026-0001',
      'INC-2026-0001 ',
    ]) {
      expect(isIncidentId(id), id).toBe(false);
    }
  });
});

describe('incident lifecycle rules', () => {
  it('opens in Detect, OPEN, named INC-yyyy-nnnn, with its execution named after it', () => {
    const incident = opened();
    expect(incident).toMatchObject({
      id: 'INC-2026-0007',
      status: 'OPEN',
      phase: 'Detect',
      world: 'RML3',
      severity: 'SEV2',
      executionName: 'INC-2026-0007',
      decideRound: 0,
    });
  });

  it('leaves INVESTIGATING and MITIGATED to people, and resolves on Learn with a status_changed event', () => {
    expect(statusOnEntering('Contain', 'OPEN')).toBe('OPEN');
    expect(statusOnEntering('Act', 'INVESTIGATING')).toBe('INVESTIGATING');
    expect(statusOnEntering('Act', 'MITIGATED')).toBe('MITIGATED');
    expect(statusOnEntering('Learn', 'INVESTIGATING')).toBe('RESOLVED');
    const learn = enterPhase({ ...opened(), status: 'MITIGATED', phase: 'Act' }, 'Learn', 'E@t', 'now');
    expect(learn.events.map((e) => e.type)).toEqual(['phase_entered', 'status_changed']);
    expect(learn.events[1]?.detail).toEqual({
      from: 'MITIGATED',
      to: 'RESOLVED',
      by: 'casebook',
      why: 'Learn began',
    });
  });

  it('opens one approval round per entry into Decide (not per retried step), and tags the event with the phase world', () => {
    const incident = opened();
    const first = enterPhase(incident, 'Decide', 'INC-2026-0007@t1', 'now');
    expect(first.decideRound).toBe(1);
    expect(first.events[0]).toMatchObject({ world: 'RML3', key: 'phase:Decide:INC-2026-0007@t1' });
    const retried = enterPhase(
      { ...incident, decideRound: 1, decideEntry: 'INC-2026-0007@t1' },
      'Decide',
      'INC-2026-0007@t1',
      'now',
    );
    expect(retried.decideRound).toBe(1);
    // Entered again after a rejection, in the same execution, or in a resumed one: a new round.
    for (const entry of ['INC-2026-0007@t2', 'INC-2026-0007-r2@t1']) {
      const again = enterPhase(
        { ...incident, decideRound: 1, decideEntry: 'INC-2026-0007@t1' },
        'Decide',
        entry,
        'now',
      );
      expect(again.decideRound).toBe(2);
    }
    expect(enterPhase(incident, 'Contain', 'x', 'now').events[0]?.world).toBe('RML2');
  });

  it('refuses to move a closed incident', () => {
    expect(() => enterPhase({ ...opened(), status: 'CLOSED' }, 'Act', 'x', 'now')).toThrow(/CLOSED/);
  });

  it('names resumed executions -r2, -r3, …', () => {
    expect(nextExecutionName({ id: 'INC-2026-0007', executionName: 'INC-2026-0007' })).toBe(
      'INC-2026-0007-r2',
    );
    expect(nextExecutionName({ id: 'INC-2026-0007', executionName: 'INC-2026-0007-r2' })).toBe(
      'INC-2026-0007-r3',
    );
  });
});
