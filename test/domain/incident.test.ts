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

  it('moves to INVESTIGATING, resolves on Learn, and never claims MITIGATED by itself', () => {
    expect(statusOnEntering('Contain', 'OPEN')).toBe('INVESTIGATING');
    expect(statusOnEntering('Act', 'INVESTIGATING')).toBe('INVESTIGATING');
    expect(statusOnEntering('Act', 'MITIGATED')).toBe('MITIGATED');
    expect(statusOnEntering('Learn', 'INVESTIGATING')).toBe('RESOLVED');
  });

  it('opens one approval round per execution entering Decide, and tags the event with the phase world', () => {
    const incident = opened();
    const first = enterPhase(incident, 'Decide', 'INC-2026-0007', 'now');
    expect(first.decideRound).toBe(1);
    expect(first.event).toMatchObject({ world: 'RML3', key: 'phase:Decide:INC-2026-0007' });
    const retried = enterPhase(
      { ...incident, decideRound: 1, decideExecution: 'INC-2026-0007' },
      'Decide',
      'INC-2026-0007',
      'now',
    );
    expect(retried.decideRound).toBe(1);
    const resumed = enterPhase(
      { ...incident, decideRound: 1, decideExecution: 'INC-2026-0007' },
      'Decide',
      'INC-2026-0007-r2',
      'now',
    );
    expect(resumed.decideRound).toBe(2);
    expect(enterPhase(incident, 'Contain', 'x', 'now').event.world).toBe('RML2');
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
