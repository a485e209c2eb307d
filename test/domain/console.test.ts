import { describe, expect, it } from 'vitest';
import { incidentDeadlines } from '../../functions/domain/casework.ts';
import type { IncidentSummary } from '../../functions/domain/console.ts';
import {
  CONSOLE_PAGE_SIZE,
  consoleList,
  nextDeadline,
  parseConsoleQuery,
  waitingOn,
} from '../../functions/domain/console.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import { InvalidInputError } from '../../functions/domain/errors.ts';

const NOW = new Date('2026-12-06T12:00:00Z');

function summary(n: number, overrides: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id: `INC-2026-${String(n).padStart(4, '0')}`,
    title: `Incident ${n}`,
    severity: 'SEV2',
    status: 'INVESTIGATING',
    phase: 'Contain',
    detectedAt: new Date(Date.UTC(2026, 11, 1) + n * 60_000).toISOString(),
    acknowledgedAt: new Date(Date.UTC(2026, 11, 1) + n * 60_000).toISOString(),
    commander: 'ada@example.com',
    decideRound: 0,
    ...overrides,
  };
}

describe('the console list', () => {
  it('puts open incidents first, then the newest, and pages them', () => {
    const all = Array.from({ length: 60 }, (_, i) =>
      summary(i + 1, i % 2 === 0 ? { status: 'CLOSED', phase: 'Learn' } : {}),
    );
    const first = consoleList(all, { page: 1 }, NOW);
    expect(first.matching).toBe(60);
    expect(first.open).toBe(30);
    expect(first.pages).toBe(Math.ceil(60 / CONSOLE_PAGE_SIZE));
    expect(first.rows).toHaveLength(CONSOLE_PAGE_SIZE);
    expect(first.rows[0]?.incident.id).toBe('INC-2026-0060');
    expect(first.rows.slice(0, 25).every((r) => r.incident.status !== 'CLOSED')).toBe(true);
    const second = consoleList(all, { page: 2 }, NOW);
    expect(second.rows[0]?.incident.id).toBe('INC-2026-0010');
    expect(second.rows[5]?.incident.status).toBe('CLOSED');
    expect(consoleList(all, { page: 9 }, NOW).rows).toEqual([]);
  });

  it('filters by status (or every open one) and severity', () => {
    const all = [
      summary(1, { severity: 'SEV1' }),
      summary(2, { severity: 'SEV3', status: 'RESOLVED' }),
      summary(3, { severity: 'SEV1', status: 'CANCELLED' }),
    ];
    const ids = (q: Parameters<typeof consoleList>[1]) =>
      consoleList(all, q, NOW).rows.map((r) => r.incident.id);
    expect(ids({ page: 1, status: 'open' })).toEqual(['INC-2026-0001']);
    expect(ids({ page: 1, severity: 'SEV1' })).toEqual(['INC-2026-0001', 'INC-2026-0003']);
    expect(ids({ page: 1, status: 'RESOLVED', severity: 'SEV1' })).toEqual([]);
  });

  it('reads its query, naming each field it cannot read', () => {
    expect(parseConsoleQuery({})).toEqual({ page: 1 });
    expect(parseConsoleQuery({ status: '', severity: '', page: '' })).toEqual({ page: 1 });
    expect(parseConsoleQuery({ status: 'open', severity: 'SEV4', page: '3' })).toEqual({
      status: 'open',
      severity: 'SEV4',
      page: 3,
    });
    try {
      parseConsoleQuery({ status: 'open;drop', severity: 'sev1', page: '01' });
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidInputError).issues.map((i) => i.field)).toEqual(['status', 'severity', 'page']);
    }
    expect(() => parseConsoleQuery({ page: '0' })).toThrow(InvalidInputError);
  });

  it('says who each incident waits on', () => {
    expect(waitingOn(summary(1, { acknowledgedAt: undefined, status: 'OPEN' }))).toBe(
      'The responders: acknowledge',
    );
    expect(waitingOn(summary(1))).toBe('ada@example.com: contain');
    expect(waitingOn(summary(1, { phase: 'Understand', impactAt: NOW.toISOString() }))).toBe(
      'ada@example.com: write the plan',
    );
    expect(
      waitingOn(
        summary(1, {
          phase: 'Decide',
          decideRound: 1,
          approvalRound: { round: 1, roles: ['legal', 'sre'], decided: false },
        }),
      ),
    ).toBe('Approvers: Legal, SRE');
    expect(waitingOn(summary(1, { phase: 'Learn', status: 'RESOLVED' }))).toBe('ada@example.com: postmortem');
    expect(waitingOn(summary(1, { status: 'CLOSED' }))).toBe('Nobody');
  });

  it('shows the earliest unmet deadline, marked when missed, and none once closed', () => {
    const open = summary(1, { severity: 'SEV1', acknowledgedAt: undefined, status: 'OPEN' });
    expect(nextDeadline(open, DEFAULT_DEADLINE_POLICY)?.kind).toBe('response');
    expect(consoleList([open], { page: 1 }, NOW).rows[0]?.next?.missed).toBe(true);
    expect(nextDeadline(summary(1), DEFAULT_DEADLINE_POLICY)?.kind).toBe('resolution');
    expect(nextDeadline(summary(1, { status: 'CLOSED' }), DEFAULT_DEADLINE_POLICY)).toBeUndefined();
  });

  it('reads a summary’s deadlines as the workroom reads the incident’s: the regulator told meets the regulatory clock', () => {
    const aware = summary(1, {
      piiAwareAt: '2026-12-01T00:10:00.000Z',
      resolvedAt: '2026-12-01T00:20:00.000Z',
    });
    expect(nextDeadline(aware, DEFAULT_DEADLINE_POLICY)?.kind).toBe('regulatory');
    const told = { ...aware, regulatorNotified: { at: '2026-12-01T01:00:00.000Z' } };
    expect(nextDeadline(told, DEFAULT_DEADLINE_POLICY)?.kind).not.toBe('regulatory');
    expect(incidentDeadlines(told, DEFAULT_DEADLINE_POLICY).find((d) => d.kind === 'regulatory')?.metAt).toBe(
      '2026-12-01T01:00:00.000Z',
    );
  });
});
