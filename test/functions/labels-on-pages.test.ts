/**
 * Every page and e-mail people read, rendered with every kind, template, status, verdict,
 * obligation, phase, world and reason: none shows a value the code keeps (`refund_confirmation`,
 * `tos`, `CHANGES_REQUESTED`, `in-doubt`) where a person reads; each shows its label. And the
 * money shown is the P&L of the same effects once confirmed.
 */
import { describe, expect, it } from 'vitest';
import { approvalPage } from '../../functions/approvals-page/page.ts';
import type { Approval, ApprovalStatus } from '../../functions/domain/approval.ts';
import type { RoundVerdict } from '../../functions/domain/approval-policy.ts';
import { DEFAULT_ROUND_RULES } from '../../functions/domain/approval-policy.ts';
import type { DeadlineKind } from '../../functions/domain/deadlines.ts';
import { DEADLINE_KINDS, IMPACT_ASSETS } from '../../functions/domain/deadlines.ts';
import type { AttentionReason, EffectRecord } from '../../functions/domain/effects.ts';
import { ATTENTION_ANSWERS } from '../../functions/domain/effects.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { LABELS } from '../../functions/domain/labels.ts';
import type { LedgerEntry } from '../../functions/domain/ledger.ts';
import { approvalReminderEmail, approvalRequestEmail, planNotice } from '../../functions/domain/messages.ts';
import type { Obligation, PlannedEffect } from '../../functions/domain/plan.ts';
import { NOTICE_TEMPLATES, PLAN_EFFECT_KINDS, planTotals, sealPlan } from '../../functions/domain/plan.ts';
import { profitAndLoss } from '../../functions/domain/profit-and-loss.ts';
import { PHASES, STATUSES, WORLDS } from '../../functions/domain/vocabulary.ts';
import { WORK_ACTIONS, type WorkAction } from '../../functions/domain/workroom.ts';
import { questionPage } from '../../functions/effect-questions-page/page.ts';
import type { ApprovalView } from '../../functions/use-cases/approval-decisions.ts';
import type { WorkroomView } from '../../functions/use-cases/workroom.ts';
import { workroomPage } from '../../functions/workroom/page.ts';
import { plainIncident } from '../support/incidents.ts';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const OBLIGATIONS: readonly Obligation[] = ['tos', 'brand'];
const APPROVAL_STATUSES: readonly ApprovalStatus[] = [
  'PENDING',
  'APPROVED',
  'REJECTED',
  'CHANGES_REQUESTED',
  'WITHDRAWN',
];
const VERDICTS: readonly RoundVerdict[] = ['approved', 'vetoed', 'unreachable', 'changes-requested'];
const REASONS: readonly AttentionReason[] = ['in-doubt', 'refused', 'manual', 'plan-mismatch'];

/**
 * The values a person must never read raw: those whose label differs and that are not words of
 * the language (snake or kebab case, upper case, `tos`). `refund` or `brand` are words: they may
 * stand in a sentence.
 */
const RAW = [
  ...new Set(
    Object.values(LABELS).flatMap((table) =>
      Object.entries(table as Record<string, string>)
        .filter(([value, label]) => value !== label)
        .map(([value]) => value)
        .filter((v) => /[_-]/.test(v) || /^[A-Z]{4,}$/.test(v) || v === 'tos'),
    ),
  ),
];

/** What a person reads of a page: its text, without tags, attributes, styles or titles. */
function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replaceAll('&amp;', '&')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'");
}

function rawValuesIn(text: string): string[] {
  return RAW.filter((v) => new RegExp(`(?<![\\w-])${v}(?![\\w-])`).test(text));
}

/** One effect of every kind on every line; the money kinds in EUR, a notice with its wording amount. */
const effects: PlannedEffect[] = PLAN_EFFECT_KINDS.flatMap((kind, k) =>
  OBLIGATIONS.map((obligation, o) => ({
    effectId: `P1-E${k * 2 + o + 1}`,
    planVersion: 1,
    kind,
    customerRef: `cus_${k}${o}`,
    counterparty: `cp_${k}${o}`,
    world: 'RML3' as const,
    safety: 'RISKY' as const,
    obligation,
    // A correction message carries no amount (its template names none); a notice its wording amount.
    ...(kind === 'correction' ? {} : { amount: { minor: 1000 * (k + 1) + o, currency: 'EUR' } }),
    ...(kind === 'refund' || kind === 'credit' ? { paymentRef: `ch_${k}${o}` } : {}),
    ...(kind === 'notice' || kind === 'correction'
      ? { template: NOTICE_TEMPLATES[(k + o) % NOTICE_TEMPLATES.length], contentHash: 'c'.repeat(64) }
      : {}),
  })),
);
const plan = sealPlan(
  { version: 1, summary: 'Refund, credit, tell', proposedAt: '2026-12-06T10:00:00.000Z', proposedBy: 'sre' },
  effects,
);

function incidentWith(
  status: Incident['status'],
  phase: Incident['phase'],
  world: Incident['world'],
): Incident {
  return {
    ...plainIncident(3),
    status,
    phase,
    world,
    categories: ['financial_discrepancy', 'external_misdelivery', 'regulatory_breach', 'security_suspicion'],
    plan,
    impact: {
      users: 5,
      transactions: 5,
      assets: [...IMPACT_ASSETS],
      from: '2026-12-06T09:00:00.000Z',
      summary: 'Five customers charged twice on 6 December',
      by: 'responder@casebook.local',
      at: '2026-12-06T10:00:00.000Z',
    },
    size: { size: 'large', because: 'personal data or legal exposure is involved' },
  };
}

const approval = (status: ApprovalStatus, role: Approval['role'] = 'legal'): Approval => ({
  incidentId: 'INC-2026-0003',
  round: 1,
  role,
  approverEmail: `${role}@example.com`,
  approverName: `${role} approver`,
  status,
  requestedAt: '2026-12-06T10:00:00.000Z',
  planHash: plan.hash,
  planVersion: 1,
  policyVersion: 'v1',
  linkSecretHash: 'h'.repeat(64),
  ...(status === 'PENDING' || status === 'WITHDRAWN'
    ? {}
    : {
        decision: {
          decision: status === 'APPROVED' ? 'approve' : status === 'REJECTED' ? 'reject' : 'request-changes',
          seat: 'primary' as const,
          name: `${role} approver`,
          comment: 'Because',
          at: '2026-12-06T11:00:00.000Z',
        },
      }),
});

const timeline = PHASES.flatMap((phase) =>
  WORLDS.map((world) => ({
    key: `${phase}-${world}`,
    at: '2026-12-06T10:00:00.000Z',
    world,
    type: 'note' as const,
    phase,
    summary: 'Something happened',
  })),
);

const ledger = [...PLAN_EFFECT_KINDS, 'approval_round', 'plan_check'].flatMap((kind, i) =>
  (['intent', 'executed', 'confirmed', 'failed'] as const).map(
    (state, s) =>
      ({
        format: 2,
        seq: i * 4 + s + 1,
        log: i < PLAN_EFFECT_KINDS.length ? 'effect' : 'decision',
        kind,
        state,
        world: WORLDS[(i + s) % 3],
        phase: 'Act',
        at: '2026-12-06T11:00:00.000Z',
        actor: 'casebook',
        summary: 'An entry',
      }) as unknown as LedgerEntry,
  ),
);

function workroomView(incident: Incident, approvals: readonly Approval[]): WorkroomView {
  return {
    person: { email: 'lead@casebook.local', role: 'sre_lead' },
    incident,
    asked: { summary: 'Decide.' },
    deadlines: DEADLINE_KINDS.map((kind: DeadlineKind) => ({
      kind,
      due: '2026-12-06T13:00:00.000Z',
      missed: false,
    })),
    metrics: {},
    timeline,
    customers: { items: [] },
    approvals,
    ledger: {
      count: ledger.length,
      summary: PLAN_EFFECT_KINDS.map((kind) => ({
        kind,
        total: 4,
        confirmed: 1,
        pending: 1,
        attention: 1,
        voided: 1,
      })),
      page: ledger,
    },
    actions: Object.keys(WORK_ACTIONS) as WorkAction[],
    notices: [
      planNotice('INC-2026-0003', { subject: 'Hi', body: 'Hello {{name}}' }, { email: 'a@x.io' }, {}),
    ],
    now: NOW.toISOString(),
  };
}

function approvalView(incident: Incident, status: ApprovalStatus, verdict?: RoundVerdict): ApprovalView {
  const mine = approval(status);
  return {
    approval: mine,
    seat: 'primary',
    incident,
    roundApprovals: APPROVAL_STATUSES.map((s, i) =>
      approval(s, (['legal', 'business', 'sre'] as const)[i % 3]),
    ),
    round: {
      round: 1,
      openedAt: '2026-12-06T10:00:00.000Z',
      policyVersion: 'v1',
      size: 'large',
      severity: incident.severity,
      rule: DEFAULT_ROUND_RULES.large,
      planVersion: 1,
      planHash: plan.hash,
      ...(verdict ? { decided: { verdict, reason: 'The round ended', at: '2026-12-06T11:30:00.000Z' } } : {}),
    },
    canDecide: status === 'PENDING',
    timeline,
    ledger,
    sampleNotices: NOTICE_TEMPLATES.map((t) => ({
      label: LABELS.template[t],
      count: 2,
      message: planNotice('INC-2026-0003', { subject: 'Hi', body: 'Hello' }, { email: 'a@x.io' }, {}),
    })),
    now: NOW,
    dueAt: '2026-12-06T10:30:00.000Z',
    decisionMinutes: 30,
    decisionDue: '2026-12-06T10:30:00.000Z',
    resolution: { kind: 'resolution', due: '2026-12-06T11:00:00.000Z' },
  };
}

describe('every page and e-mail people read', () => {
  it('knows the raw values it looks for', () => {
    expect(RAW).toEqual(
      expect.arrayContaining([
        'refund_confirmation',
        'tos',
        'CHANGES_REQUESTED',
        'in-doubt',
        'changes-requested',
      ]),
    );
  });

  it('shows the workroom with every status, phase, world, kind, template, line, approval status and deadline in words', () => {
    for (const status of STATUSES) {
      for (const phase of PHASES) {
        const html = workroomPage(
          workroomView(
            incidentWith(status, phase, 'RML3'),
            APPROVAL_STATUSES.map((s) => approval(s)),
          ),
          'INC-2026-0003.0123456789abcdef.secret',
        );
        expect(rawValuesIn(visibleText(html)), `${status} ${phase}`).toEqual([]);
      }
    }
    const text = visibleText(
      workroomPage(
        workroomView(
          incidentWith('MITIGATED', 'Decide', 'RML3'),
          APPROVAL_STATUSES.map((s) => approval(s)),
        ),
        'x',
      ),
    );
    for (const label of [
      'Refund',
      'Goodwill credit',
      'Notice',
      'ToS line',
      'Brand line',
      'Changes requested',
    ]) {
      expect(text).toContain(label);
    }
  });

  it('shows the approval page with every approval status, verdict, template and line in words', () => {
    for (const status of APPROVAL_STATUSES) {
      for (const verdict of [undefined, ...VERDICTS]) {
        const html = approvalPage(approvalView(incidentWith('MITIGATED', 'Decide', 'RML3'), status, verdict));
        expect(rawValuesIn(visibleText(html)), `${status} ${verdict}`).toEqual([]);
      }
    }
    const text = visibleText(
      approvalPage(approvalView(incidentWith('MITIGATED', 'Decide', 'RML3'), 'PENDING')),
    );
    for (const label of [
      'Refund confirmation',
      'ToS line',
      'Brand line',
      'Changes requested',
      'Personal data',
    ]) {
      expect(text).toContain(label);
    }
  });

  it('shows the effect-question page with every reason, kind, line and answer in words', () => {
    for (const reason of REASONS) {
      for (const effect of effects) {
        for (const answer of [undefined, ...ATTENTION_ANSWERS[reason]]) {
          const record: EffectRecord = { ...effect, progress: 'attention', attempt: 1 };
          const html = questionPage({
            question: {
              incidentId: 'INC-2026-0003',
              effectId: effect.effectId,
              attempt: 1,
              reason,
              detail: 'Act could not tell',
              askedAt: '2026-12-06T11:00:00.000Z',
              links: {},
              ...(answer
                ? { answered: { answer, by: 'r@x.io', at: '2026-12-06T11:10:00.000Z', note: 'n' } }
                : {}),
            },
            incident: incidentWith('MITIGATED', 'Act', 'RML3'),
            effect: record,
            askedOf: 'r@x.io',
            answers: ATTENTION_ANSWERS[reason],
            now: NOW,
          });
          expect(rawValuesIn(visibleText(html)), `${reason} ${effect.kind} ${answer}`).toEqual([]);
        }
      }
    }
  });

  it('writes the approval request and reminder e-mails with every kind and line in words', () => {
    const incident = incidentWith('MITIGATED', 'Decide', 'RML3');
    const request = approvalRequestEmail(incident, {
      role: 'business',
      to: { email: 'b@x.io', name: 'Bo' },
      link: 'https://x/approvals/y',
      rule: DEFAULT_ROUND_RULES.large,
      round: 2,
      dueAt: '2026-12-06T10:30:00.000Z',
      decisionMinutes: 30,
      decisionDue: '2026-12-06T10:30:00.000Z',
      resolution: { due: '2026-12-06T11:00:00.000Z' },
      now: NOW.toISOString(),
      changes: { since: 1, lines: ['Added Refund EUR (ToS line): 2, EUR 19.75'] },
    });
    const reminder = approvalReminderEmail(incident, {
      role: 'legal',
      to: { email: 'l@x.io', name: 'Lee' },
      round: 1,
      planVersion: 1,
      dueAt: '2026-12-06T10:30:00.000Z',
      finalAt: '2026-12-07T10:30:00.000Z',
      requestedAt: '2026-12-06T10:00:00.000Z',
    });
    for (const mail of [request, reminder]) {
      expect(rawValuesIn(`${mail.subject}\n${mail.text}\n${visibleText(mail.html)}`)).toEqual([]);
    }
    // The request states the severity's decision deadline and that the resolution target passed.
    expect(request.text).toContain(
      "Decision deadline: 6 Dec 10:30 UTC (a SEV2 incident's approvers have 30 min).",
    );
    expect(request.text).toContain('Resolution deadline: 6 Dec 11:00 UTC — it has already passed (1 h ago)');
  });
});

describe('the money shown', () => {
  it('is the P&L of the same effects once confirmed: refunds and credits per kind, currency and line', () => {
    // What the workroom and the approval page show as money, by kind, currency and line.
    const html = approvalPage(approvalView(incidentWith('MITIGATED', 'Decide', 'RML3'), 'PENDING'));
    const shown = [
      ...html.matchAll(
        /<td data-label="Kind">([^<]+)<\/td><td data-label="Total">([A-Z]{3}) ([\d.,]+)<\/td><td data-label="Line">([^<]+)<\/td>/g,
      ),
    ].map(([, kind, currency, amount, line]) => `${kind}|${currency}|${amount}|${line}`);
    // The same effects confirmed on the Effect Ledger, as Act records them.
    const entries = effects.map(
      (e, i) =>
        ({
          format: 2,
          id: `e${i}`,
          seq: i + 1,
          log: 'effect',
          kind: e.kind,
          state: 'confirmed',
          world: 'RML3',
          phase: 'Act',
          at: '2026-12-06T12:00:00.000Z',
          actor: 'casebook (act)',
          counterparty: e.counterparty,
          obligation: e.obligation,
          ...(e.amount ? { amount: e.amount } : {}),
          idempotencyKey: e.effectId,
          summary: e.kind,
        }) as unknown as LedgerEntry,
    );
    const pnl = profitAndLoss(entries).totals.map(
      (t) =>
        `${LABELS.kind[t.kind as keyof typeof LABELS.kind] ?? t.kind}|${t.currency}|${t.amount}|${LABELS.obligation[t.obligation ?? 'tos']}`,
    );
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.sort()).toEqual(pnl.sort());
    // The sealed totals still carry the notices' wording amounts: only what is shown leaves them out.
    expect(planTotals(effects).some((t) => t.kind === 'notice' && t.minor > 0)).toBe(true);
  });
});
