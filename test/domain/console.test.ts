import { describe, expect, it } from 'vitest';
import { incidentDeadlines } from '../../functions/domain/casework.ts';
import type {
  ConsoleCursor,
  ConsoleQuery,
  IncidentSummaries,
  IncidentSummary,
  SummaryRequest,
} from '../../functions/domain/console.ts';
import {
  CONSOLE_PAGE_SIZE,
  consoleList,
  encodeConsoleCursor,
  isOpen,
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

/**
 * The port over an array, as the byCreation index answers it: newest first (then the larger id),
 * the part and filters applied, from just after `after`; `read` counts the incidents it gave.
 */
function summaries(all: readonly IncidentSummary[]): IncidentSummaries & { read: number } {
  const sorted = [...all].sort(
    (a, b) => b.detectedAt.localeCompare(a.detectedAt) || b.id.localeCompare(a.id),
  );
  const store = {
    read: 0,
    async pageSummaries(r: SummaryRequest) {
      const from = r.after
        ? sorted.findIndex((s) => s.detectedAt === r.after?.detectedAt && s.id === r.after?.id) + 1
        : 0;
      const out = sorted
        .slice(from)
        .filter(
          (s) =>
            (r.part === 'open') === isOpen(s.status) &&
            (r.status === undefined || s.status === r.status) &&
            (r.severity === undefined || s.severity === r.severity),
        )
        .slice(0, r.limit);
      store.read += out.length;
      return out;
    },
  };
  return store;
}

describe('the console list', () => {
  it('puts open incidents first, then the newest, and pages them with a cursor, reading a page at a time', async () => {
    const all = Array.from({ length: 60 }, (_, i) =>
      summary(i + 1, i % 2 === 0 ? { status: 'CLOSED', phase: 'Learn' } : {}),
    );
    const store = summaries(all);
    const first = await consoleList(store, {}, NOW);
    expect(first.rows).toHaveLength(CONSOLE_PAGE_SIZE);
    expect(first.rows[0]?.incident.id).toBe('INC-2026-0060');
    expect(first.rows.every((r) => r.incident.status !== 'CLOSED')).toBe(true);
    // A page reads its rows and one more, never the whole list.
    expect(store.read).toBe(CONSOLE_PAGE_SIZE + 1);
    const second = await consoleList(store, { cursor: first.next as ConsoleCursor }, NOW);
    expect(second.rows.map((r) => r.incident.id).slice(0, 6)).toEqual([
      'INC-2026-0010',
      'INC-2026-0008',
      'INC-2026-0006',
      'INC-2026-0004',
      'INC-2026-0002',
      'INC-2026-0059',
    ]);
    expect(second.rows[5]?.incident.status).toBe('CLOSED');
    const third = await consoleList(store, { cursor: second.next as ConsoleCursor }, NOW);
    expect(third.rows).toHaveLength(10);
    expect(third.next).toBeUndefined();
    const seen = [first, second, third].flatMap((p) => p.rows.map((r) => r.incident.id));
    expect(new Set(seen).size).toBe(60);
  });

  it('ends the open part exactly on a page and still goes on to the others', async () => {
    const all = Array.from({ length: CONSOLE_PAGE_SIZE + 1 }, (_, i) =>
      summary(i + 1, i === 0 ? { status: 'RESOLVED' } : {}),
    );
    const first = await consoleList(summaries(all), {}, NOW);
    expect(first.rows.every((r) => r.incident.status === 'INVESTIGATING')).toBe(true);
    const second = await consoleList(summaries(all), { cursor: first.next as ConsoleCursor }, NOW);
    expect(second.rows.map((r) => r.incident.id)).toEqual(['INC-2026-0001']);
  });

  it('filters by status (or every open one) and severity', async () => {
    const all = [
      summary(1, { severity: 'SEV1' }),
      summary(2, { severity: 'SEV3', status: 'RESOLVED' }),
      summary(3, { severity: 'SEV1', status: 'CANCELLED' }),
    ];
    const ids = async (q: ConsoleQuery) =>
      (await consoleList(summaries(all), q, NOW)).rows.map((r) => r.incident.id);
    expect(await ids({ status: 'open' })).toEqual(['INC-2026-0001']);
    expect(await ids({ severity: 'SEV1' })).toEqual(['INC-2026-0001', 'INC-2026-0003']);
    expect(await ids({ status: 'RESOLVED', severity: 'SEV1' })).toEqual([]);
    expect(await ids({ status: 'RESOLVED' })).toEqual(['INC-2026-0002']);
  });

  it('reads its query, naming each field it cannot read', () => {
    expect(parseConsoleQuery({})).toEqual({});
    expect(parseConsoleQuery({ status: '', severity: '', cursor: '' })).toEqual({});
    const cursor = {
      part: 'final',
      after: { detectedAt: '2026-12-01T00:01:00.000Z', id: 'INC-2026-0001' },
    } as const;
    expect(
      parseConsoleQuery({ status: 'open', severity: 'SEV4', cursor: encodeConsoleCursor(cursor) }),
    ).toEqual({
      status: 'open',
      severity: 'SEV4',
      cursor,
    });
    const forged = Buffer.from(JSON.stringify({ p: 'final', d: 'yesterday', i: 'INC-2026-0001' })).toString(
      'base64url',
    );
    try {
      parseConsoleQuery({ status: 'open;drop', severity: 'sev1', cursor: forged });
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidInputError).issues.map((i) => i.field)).toEqual([
        'status',
        'severity',
        'cursor',
      ]);
    }
    expect(() => parseConsoleQuery({ cursor: 'x'.repeat(300) })).toThrow(InvalidInputError);
    expect(() => parseConsoleQuery({ cursor: Buffer.from('{"p":"other"}').toString('base64url') })).toThrow(
      InvalidInputError,
    );
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

  it('shows the earliest unmet deadline, marked when missed, and none once closed', async () => {
    const open = summary(1, { severity: 'SEV1', acknowledgedAt: undefined, status: 'OPEN' });
    expect(nextDeadline(open, DEFAULT_DEADLINE_POLICY)?.kind).toBe('response');
    expect((await consoleList(summaries([open]), {}, NOW)).rows[0]?.next?.missed).toBe(true);
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
