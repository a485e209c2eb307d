import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  countIncidentOutcome,
  countingOpenQuestions,
  recordAcknowledgement,
  recordAnchorRun,
  recordApprovalDecision,
} from '../../functions/adapters/casebook-metrics.ts';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { METRIC, observed } from '../../functions/adapters/observability.ts';
import type { Classification } from '../../functions/domain/alert.ts';
import type { Approval } from '../../functions/domain/approval.ts';
import type { EffectQuestion } from '../../functions/domain/effects.ts';
import type { PlannedEffect } from '../../functions/domain/plan.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

/** One published value: its metric, value and dimensions. */
interface Published {
  readonly name: string;
  readonly value: unknown;
  readonly dimensions: Readonly<Record<string, unknown>>;
}

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

function published(): Published[] {
  const out: Published[] = [];
  for (const line of lines) {
    const emf = JSON.parse(line) as Record<string, unknown> & {
      _aws?: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    const directive = emf._aws?.CloudWatchMetrics[0];
    if (!directive) continue;
    const names = directive.Dimensions[0] ?? [];
    for (const { Name } of directive.Metrics) {
      out.push({
        name: Name,
        value: emf[Name],
        dimensions: Object.fromEntries(names.map((n) => [n, emf[n]])),
      });
    }
  }
  return out;
}

/** Runs `work` as an invocation would, so its metrics are published. */
const invoke = (work: () => Promise<void> | void) => observed(async () => work())(undefined, undefined);

const classification = {
  world: 'RML1',
  severity: 'SEV2',
  categories: [],
  reason: 'test',
} as unknown as Classification;

describe('incidents opened and signals folded', () => {
  it('counts an opened incident by source, world and severity, and in the total', async () => {
    await invoke(() =>
      countIncidentOutcome('alertmanager', { outcome: 'opened', incidentId: 'i-1', classification }),
    );
    expect(published()).toEqual([
      { name: METRIC.incidentsOpened, value: 1, dimensions: {} },
      {
        name: METRIC.incidentsOpened,
        value: 1,
        dimensions: { source: 'alertmanager', world: 'RML1', severity: 'SEV2' },
      },
    ]);
  });

  it('counts a folded signal by source, and nothing for an alert that opened nothing', async () => {
    await invoke(() => {
      countIncidentOutcome('alertmanager', { outcome: 'folded', incidentId: 'i-1', classification });
      countIncidentOutcome('alertmanager', { outcome: 'not-an-incident', classification });
    });
    expect(published().map((p) => [p.name, p.dimensions])).toEqual([
      [METRIC.signalsFolded, {}],
      [METRIC.signalsFolded, { source: 'alertmanager' }],
    ]);
  });
});

describe('time to acknowledge and approval latency', () => {
  const incident = {
    id: 'i-1',
    severity: 'SEV1' as const,
    detectedAt: '2026-12-07T10:00:00.000Z',
    acknowledgedAt: '2026-12-07T10:04:30.000Z',
  };

  it('records the time to acknowledge once, for the action that acknowledged', async () => {
    await invoke(() => recordAcknowledgement(incident, new Date('2026-12-07T10:04:29.000Z')));
    await invoke(() => recordAcknowledgement(incident, new Date('2026-12-07T10:20:00.000Z')));
    expect(published()).toEqual([
      { name: METRIC.timeToAcknowledge, value: 270, dimensions: {} },
      { name: METRIC.timeToAcknowledge, value: 270, dimensions: { severity: 'SEV1' } },
    ]);
  });

  it("records an approver's latency by role, and nothing before a decision", async () => {
    const approval = {
      incidentId: 'i-1',
      role: 'legal',
      requestedAt: '2026-12-07T10:00:00.000Z',
      decision: { at: '2026-12-07T10:30:00.000Z' },
    } as unknown as Approval;
    const { decision: _, ...undecided } = approval;
    await invoke(() => {
      recordApprovalDecision(approval);
      recordApprovalDecision(undecided as Approval);
    });
    expect(published()).toEqual([
      { name: METRIC.approvalLatency, value: 1800, dimensions: { role: 'legal' } },
    ]);
  });
});

describe('anchor runs and open questions', () => {
  it('counts a run and the age of the anchor holding the heads', async () => {
    await invoke(() =>
      recordAnchorRun(
        { key: 'k', chains: 0, written: false, anchoredAt: '2026-12-07T09:00:00.000Z' },
        new Date('2026-12-07T09:10:00.000Z'),
      ),
    );
    expect(published()).toEqual([
      { name: METRIC.anchorRuns, value: 1, dimensions: {} },
      { name: METRIC.anchorAge, value: 600, dimensions: {} },
    ]);
  });

  it("publishes how many of an incident's questions are open and how many are past the answers' deadline", async () => {
    const question = (askedAt: string) => ({ askedAt }) as EffectQuestion;
    const store = {
      calls: 0,
      async openQuestions(_incidentId: string) {
        this.calls += 1;
        return [question('2026-12-07T05:00:00.000Z'), question('2026-12-07T09:30:00.000Z')];
      },
    };
    const counted = countingOpenQuestions(store, 4 * 60, { now: () => new Date('2026-12-07T10:00:00.000Z') });
    await invoke(async () => {
      expect(await counted.openQuestions('i-1')).toHaveLength(2);
    });
    expect(store.calls).toBe(1);
    expect(published()).toEqual([
      { name: METRIC.questionsOpen, value: 2, dimensions: {} },
      { name: METRIC.questionsOverdue, value: 1, dimensions: {} },
    ]);
  });
});

describe('effects by kind and state, from the effect store', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startTestDatabase();
  });
  afterAll(() => db.close());

  it('counts each move an effect makes by its kind and new state, a confirmed notice as sent, and a lost race not at all', async () => {
    const tables = await db.tables();
    const store = new DynamoDbEffectStore(db.doc, tables.operations);
    const notice = {
      effectId: 'P1-E1',
      planVersion: 1,
      kind: 'notice',
      customerRef: 'c-1',
      counterparty: 'pseudonym',
      world: 'RML1',
      safety: 'INFO_ONLY',
      obligation: 'brand',
      template: 'apology',
    } as unknown as PlannedEffect;
    await store.putEffects('i-1', '1', [notice]);
    const [effect] = (await store.listEffects('i-1', '1')).items;
    if (!effect) throw new Error('the effect was not written');
    await invoke(async () => {
      expect(await store.advanceEffect('i-1', '1', 'P1-E1', effect, { progress: 'confirmed' })).toBe(true);
      // Another run still holding the effect as planned loses the race: nothing moved, nothing counted.
      expect(await store.advanceEffect('i-1', '1', 'P1-E1', effect, { progress: 'intent' })).toBe(false);
    });
    expect(published().map((p) => [p.name, p.dimensions])).toEqual([
      [METRIC.effects, {}],
      [METRIC.effects, { kind: 'notice', state: 'confirmed' }],
      [METRIC.noticesSent, {}],
    ]);
  });
});
