import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { CaseRecords } from '../../functions/domain/case-file.ts';
import { buildCaseFile, caseFileSchema, renderCaseFile } from '../../functions/domain/case-file.ts';
import type { Incident, TimelineEvent } from '../../functions/domain/incident.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import type { LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { plainAlert } from '../support/incidents.ts';
import type { EntrySpec } from '../support/ledger-chains.ts';
import { sealedChain } from '../support/ledger-chains.ts';

const seedExample = readFileSync(
  join(import.meta.dirname, '../fixtures/case-file/seed-000-example.yaml'),
  'utf8',
);
const sealer = new FileKeySealer(newKeyFile('case-file'));
const INC = 'INC-2026-0001';
const PLAN_HASH = 'a'.repeat(64);

/** The double-charge incident, closed: two customers told, one refund done by hand, one voided. */
async function doubleCharge(): Promise<CaseRecords> {
  const opened = openIncident(
    INC,
    plainAlert(1, {
      title: 'Possible double charge: tell ops@corp.example',
      labels: { alertname: 'PaymentDoubleCharge', category: 'financial_discrepancy', severity: 'critical' },
      customerContacts: ['ada@example.com', 'grace@example.com'],
    }),
    classify({ category: 'financial_discrepancy', severity: 'critical' }),
    '2026-11-22T10:23:45.123Z',
  );
  const incident: Incident = {
    ...opened,
    status: 'CLOSED',
    phase: 'Learn',
    customerList: { version: 1, count: 2 },
    plan: {
      version: 1,
      summary: 'Refund the second charge and apologise to every affected customer.',
      proposedAt: '2026-11-22T11:00:00.000Z',
      proposedBy: 'casebook',
      effectCount: 4,
      totals: [
        { kind: 'notice', currency: null, obligation: 'brand', count: 2, minor: 0 },
        { kind: 'refund', currency: 'EUR', obligation: 'tos', count: 2, minor: 5000 },
      ],
      effectsHash: 'b'.repeat(64),
      hash: PLAN_HASH,
    },
    decideRound: 1,
    approvalRound: {
      round: 1,
      openedAt: '2026-11-22T11:00:00.000Z',
      policyVersion: '0123456789abcdef',
      size: 'medium',
      severity: 'SEV1',
      rule: { roles: ['legal', 'business', 'sre'], quorum: 3, veto: [] },
      planVersion: 1,
      planHash: PLAN_HASH,
      decided: { verdict: 'approved', reason: '3 of 3 approved (quorum 3)', at: '2026-11-22T11:30:00.000Z' },
    },
  };
  const event = (at: string, type: TimelineEvent['type'], world: TimelineEvent['world'], summary: string) =>
    ({ key: `${type}:${at}`, at, type, world, phase: 'Act', summary }) satisfies TimelineEvent;
  const timeline = [
    event(
      '2026-11-22T10:23:45.123Z',
      'detection',
      'RML2',
      'Opened from alertmanager: Possible double charge',
    ),
    event('2026-11-22T10:25:00.000Z', 'phase_entered', 'RML2', 'Entered Contain (status INVESTIGATING)'),
    event(
      '2026-11-22T11:00:01.000Z',
      'approval_requested',
      'RML3',
      'Legal (legal@corp.example) asked to approve plan v1 (round 1)',
    ),
    event(
      '2026-11-22T12:00:00.000Z',
      'effect_carried_out',
      'RML3',
      'Act finished plan v1: 3 effect(s) confirmed.',
    ),
  ];
  const specs: EntrySpec[] = [
    { log: 'effect', kind: 'detection', world: 'RML3', phase: 'Detect', idempotencyKey: 'detect' },
    ...(['legal', 'business', 'sre'] as const).map((role) => ({
      log: 'decision' as const,
      kind: 'approval' as const,
      phase: 'Decide' as const,
      actor: `${role} approver <${role}@corp.example>`,
      idempotencyKey: `approval:1:${role}`,
      role,
      decision: 'approve',
      basis: { planHash: PLAN_HASH, planVersion: 1 },
      detail: { name: `${role[0]?.toUpperCase()}${role.slice(1)} Approver`, email: `${role}@corp.example` },
    })),
    ...['P1-E1', 'P1-E2'].map((effectId) => ({
      kind: 'notice' as const,
      effectId,
      state: 'confirmed' as const,
      obligation: 'brand' as const,
      providerRef: `ses-${effectId}`,
      detail: { provider: 'ses', template: 'apology', templateVersion: 1 },
    })),
    { kind: 'refund', effectId: 'P1-E3', state: 'confirmed', amount: { minor: 2500, currency: 'EUR' } },
    // Refunded twice by mistake, then voided by a correction: not an action that stands.
    { kind: 'refund', effectId: 'P1-E4', state: 'confirmed', amount: { minor: 2500, currency: 'EUR' } },
    { kind: 'correction', state: 'confirmed', correctsIndex: 7, idempotencyKey: 'api:void-1' },
    {
      kind: 'manual_operation',
      state: 'confirmed',
      idempotencyKey: 'api:flag-off',
      effectiveAt: '2026-11-22T10:24:30.000Z',
      world: 'RML2',
      summary:
        'Manual operation [tos], recorded by Grace <grace@corp.example>: Turned the payments retry flag off',
      detail: {
        reason: 'Turned the payments retry flag off for ada@example.com',
        evidence: 'https://x.example',
      },
    },
  ];
  const entries = await sealedChain(INC, specs, sealer, (n) => ({
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: `2026-11-22T11:${String(10 + n).padStart(2, '0')}:00.000Z`,
    actor: 'casebook (Act)',
    idempotencyKey: `k${n}`,
    summary: `entry ${n}`,
    obligation: 'tos',
    detail: {},
  }));
  return {
    incident,
    timeline,
    ledger: entries.filter((e) => e.log === 'effect'),
    decisions: entries.filter((e) => e.log === 'decision'),
  };
}

describe('the seed 000 §4 template as a schema', () => {
  it("accepts the seed's own example, field for field", () => {
    const example = parse(seedExample);
    expect(caseFileSchema.parse(example)).toEqual(example);
  });

  it('refuses what the template does not have, or misses', () => {
    const example = parse(seedExample);
    const without = (path: string[]) => {
      const copy = structuredClone(example);
      let node = copy;
      for (const key of path.slice(0, -1)) node = node[key];
      delete node[path.at(-1) as string];
      return copy;
    };
    for (const path of [
      ['lessons_learned', 'governance'],
      ['decisions', 'decided_by'],
      ['classification', 'scope'],
    ]) {
      expect(caseFileSchema.safeParse(without(path)).success, path.join('.')).toBe(false);
    }
    expect(caseFileSchema.safeParse({ ...example, costs: [] }).success).toBe(false);
    const both = structuredClone(example);
    both.actions.technical[0].detail = 'refund and describe it';
    expect(caseFileSchema.safeParse(both).success).toBe(false);
    const world = structuredClone(example);
    world.timeline[0].world = 'RML4';
    expect(caseFileSchema.safeParse(world).success).toBe(false);
  });
});

describe('the case file of an incident', () => {
  it('is filled from the incident, the timeline, the Effect Ledger and the Decision Log', async () => {
    const caseFile = buildCaseFile(await doubleCharge());
    expect(caseFile).toEqual({
      incident_id: INC,
      title: 'Possible double charge: tell [address withheld]',
      rml_world: 'RML3',
      status: 'closed',
      detected_at: '2026-11-22T10:23:45.123Z',
      detected_by: [{ type: 'alert', source: 'alertmanager/PaymentDoubleCharge' }],
      classification: {
        severity: 'SEV1',
        asset: ['money'],
        scope: { affected_users_estimate: 2, affected_transactions_estimate: 2 },
      },
      timeline: [
        {
          at: '2026-11-22T10:23:45.123Z',
          world: 'RML2',
          type: 'detection',
          detail: 'Opened from alertmanager: Possible double charge',
        },
        {
          at: '2026-11-22T10:24:30.000Z',
          world: 'RML2',
          type: 'manual_operation',
          detail:
            'Manual operation [tos], recorded by Grace <[address withheld]>: Turned the payments retry flag off',
        },
        {
          at: '2026-11-22T10:25:00.000Z',
          world: 'RML2',
          type: 'phase_entered',
          detail: 'Entered Contain (status INVESTIGATING)',
        },
        {
          at: '2026-11-22T11:00:01.000Z',
          world: 'RML3',
          type: 'approval_requested',
          detail: 'Legal ([address withheld]) asked to approve plan v1 (round 1)',
        },
        { at: '2026-11-22T11:18:00.000Z', world: 'RML3', type: 'correction', detail: 'entry 8' },
        {
          at: '2026-11-22T12:00:00.000Z',
          world: 'RML3',
          type: 'effect_carried_out',
          detail: 'Act finished plan v1: 3 effect(s) confirmed.',
        },
      ],
      decisions: {
        summary: 'Refund the second charge and apologise to every affected customer.',
        decided_by: [
          { role: 'legal', name: 'Legal Approver' },
          { role: 'business', name: 'Business Approver' },
          { role: 'sre', name: 'Sre Approver' },
        ],
      },
      actions: {
        technical: [
          { type: 'refund', world: 'RML3', count: 1 },
          { type: 'correction', world: 'RML3', count: 1 },
          {
            type: 'manual_operation',
            world: 'RML2',
            detail: 'Turned the payments retry flag off for [address withheld]',
          },
        ],
        communication: [{ type: 'user_email', world: 'RML3', template_id: 'apology_v1', count: 2 }],
      },
      lessons_learned: { technical: [], process: [], governance: [] },
    });
  });

  it('renders as YAML that parses back to itself, validates, and holds no e-mail address', async () => {
    const caseFile = buildCaseFile(await doubleCharge());
    const yaml = renderCaseFile(caseFile);
    expect(yaml.startsWith(`# Case file of ${INC} (seed 000 §4)`)).toBe(true);
    expect(yaml).toContain('incident_id: INC-2026-0001\n');
    expect(yaml).toContain('lessons_learned:\n  technical: []\n  process: []\n  governance: []\n');
    const parsed = parse(yaml);
    expect(caseFileSchema.parse(parsed)).toEqual(caseFile);
    // Same order of fields as the seed's template.
    expect(Object.keys(parsed)).toEqual(Object.keys(parse(seedExample)));
    expect(yaml).not.toMatch(/@/);
    expect(renderCaseFile(buildCaseFile(await doubleCharge()))).toBe(yaml);
  });

  it('says when the plan waits for approval or was rejected, and when there is none', async () => {
    const records = await doubleCharge();
    const decisions = records.decisions as LedgerEntryV2[];
    const round = records.incident.approvalRound;
    if (!round) throw new Error('no round');
    const { decided: _decided, ...open } = round;
    const waiting = buildCaseFile({
      ...records,
      incident: { ...records.incident, approvalRound: open },
      decisions: decisions.slice(0, 2),
    });
    expect(waiting.decisions.summary).toBe(
      'Plan v1, awaiting approval: Refund the second charge and apologise to every affected customer.',
    );
    expect(waiting.decisions.decided_by.map((d) => d.role)).toEqual(['legal', 'business']);
    const rejected = buildCaseFile({
      ...records,
      incident: {
        ...records.incident,
        approvalRound: {
          ...round,
          decided: {
            verdict: 'unreachable',
            reason: 'the quorum of 3 of 3 can no longer be reached: SRE rejected: too slow',
            at: '2026-11-22T11:30:00.000Z',
          },
        },
      },
      decisions: [
        ...decisions.slice(0, 2),
        { ...(decisions[2] as LedgerEntryV2), decision: 'reject', summary: 'SRE rejected plan v1: too slow' },
      ],
    });
    expect(rejected.decisions.summary).toMatch(
      /^Plan v1 was sent back \(Rejected: the quorum of 3 of 3 can no longer be reached: SRE rejected: too slow\): /,
    );
    // Sent back by the refund check before any round: not "awaiting approval".
    const { approvalRound: _round, ...unasked } = records.incident;
    const checked = buildCaseFile({
      ...records,
      incident: {
        ...unasked,
        planRejected: {
          version: 1,
          reason:
            '1 refund of the plan would be refused by the payments provider; correct it and submit a revised plan:\n- cus_ada (P1-E1): a refund of EUR 0.00: a refund must be more than 0',
          at: '2026-11-22T11:00:00.000Z',
        },
      },
      decisions: [],
    });
    expect(checked.decisions.summary).toBe(
      'Plan v1 was sent back before approval (1 refund of the plan would be refused by the payments provider; correct it and submit a revised plan): Refund the second charge and apologise to every affected customer.',
    );
    const { plan: _plan, ...planless } = records.incident;
    const none = buildCaseFile({ ...records, incident: planless, decisions: [] });
    expect(none.decisions).toEqual({ summary: 'No remediation plan yet.', decided_by: [] });
    expect(none.classification.scope.affected_transactions_estimate).toBeNull();
    // Approvals of another plan (an earlier version) decide nothing about this one.
    const stale = buildCaseFile({
      ...records,
      decisions: decisions.map((d) => ({ ...d, basis: { planHash: 'c'.repeat(64), planVersion: 0 } })),
    });
    expect(stale.decisions.decided_by).toEqual([]);
  });
});
