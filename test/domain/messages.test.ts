import { describe, expect, it } from 'vitest';
import { classify } from '../../functions/domain/alert.ts';
import { DEFAULT_ROUND_RULES } from '../../functions/domain/approval-policy.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import type { ApprovalAsk } from '../../functions/domain/messages.ts';
import {
  approvalReminderEmail,
  approvalRequestEmail,
  customerNotice,
  effectQuestionEmail,
  escalationEmail,
  planMismatchEmail,
  regulatoryClockEmail,
  workroomInvitation,
} from '../../functions/domain/messages.ts';
import { sealPlan } from '../../functions/domain/plan.ts';

const RLO = '\u202E';
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** An incident whose title came from an alert with a right-to-left override in it (the probe's case). */
function hostileIncident() {
  const base = openIncident(
    'INC-2026-0003',
    {
      source: 'alertmanager',
      correlationKey: 'alertmanager:0123456789abcdef0123456789abcdef',
      deliveryKey: '0123456789abcdef0123456789abcdef',
      occurrences: [],
      status: 'firing',
      title: `Refund ${RLO}lanigiro eht tnes\u2066 twice\u200F\r\nBcc: x`,
      labels: {},
      annotations: {},
      alerts: [],
      startedAt: '2026-11-22T09:00:00.000Z',
      customerContacts: ['ada@example.com'],
    },
    classify({}),
    '2026-11-22T09:01:00.000Z',
  );
  const plan = sealPlan(
    { version: 1, summary: `Tell ${RLO}them`, proposedAt: '2026-11-22T09:02:00.000Z', proposedBy: 'sre' },
    [],
  );
  return { ...base, plan };
}

const ASK: ApprovalAsk = {
  role: 'legal',
  to: { email: 'legal@example.com', name: 'Lee Legal' },
  link: 'https://x/approvals/y',
  rule: DEFAULT_ROUND_RULES.large,
  round: 1,
  dueAt: '2026-11-25T09:00:00.000Z',
  decisionMinutes: 72 * 60,
  decisionDue: '2026-11-25T09:00:00.000Z',
  resolution: { due: '2026-11-23T09:00:00.000Z' },
  now: '2026-11-22T09:05:00.000Z',
};

describe('text from outside in e-mails', () => {
  it('reaches an approval subject as one line without bidi controls', () => {
    const mail = approvalRequestEmail(hostileIncident(), ASK);
    expect(mail.subject).not.toMatch(BIDI);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).toContain('Refund lanigiro eht tnes twice');
    expect(mail.text).not.toMatch(BIDI);
  });

  it('is isolated in the HTML body, so it cannot reorder what follows', () => {
    const mail = approvalRequestEmail(hostileIncident(), ASK);
    expect(mail.html).toContain(`<p>Incident: <bdi>Refund ${RLO}lanigiro`);
    expect(mail.html).toMatch(/twice\u200F\r\nBcc: x<\/bdi><\/p>/);
  });
});

describe('the workroom invitation', () => {
  it('says by when to acknowledge as people read it, and the link is the person’s own', () => {
    const incident = {
      id: 'INC-2026-0004',
      title: 'Refunds missing',
      severity: 'SEV2',
      world: 'RML3',
    } as const;
    const mail = workroomInvitation(
      incident,
      'responder',
      'a@example.com',
      'https://casebook.example/work/x',
      {
        due: '2026-11-29T09:14:30.000Z',
        now: new Date('2026-11-29T08:14:30.000Z'),
      },
    );
    expect(mail.text).toContain('Acknowledge it by 29 Nov 09:14 UTC:');
    expect(mail.text).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(mail.text).toContain('https://casebook.example/work/x');
    const later = workroomInvitation(incident, 'sre_lead', 'b@example.com', 'https://x.example/w', undefined);
    expect(later.text).toContain('Acknowledge it as soon as you can:');
  });
});

describe('the approval request e-mail', () => {
  it('names the approver from the roster, the rule of the round and the deadline, and carries only the link', () => {
    const mail = approvalRequestEmail(hostileIncident(), ASK);
    expect(mail.to).toBe('legal@example.com');
    expect(mail.text).toMatch(/^Lee Legal, INC-2026-\d{4} \(SEV\d, RML3\) needs your decision as Legal/);
    expect(mail.text).toContain('by 25 Nov 09:00 UTC');
    expect(mail.text).toContain('Round 1: Legal, Business and SRE; 3 of 3 must approve; Legal holds a veto.');
    expect(mail.text).toContain('approve, reject or ask for changes: https://x/approvals/y');
    expect(mail.text).not.toContain('What changed');
  });

  it('tells an approver of a later round what changed since the plan they saw', () => {
    const mail = approvalRequestEmail(hostileIncident(), {
      ...ASK,
      round: 2,
      changes: { since: 1, lines: ['Effects: 2 → 4', 'Added refund EUR (ToS line): 2, EUR 19.75'] },
    });
    expect(mail.text).toContain(
      'What changed since plan v1, which you saw:\n- Effects: 2 → 4\n- Added refund EUR (ToS line): 2, EUR 19.75',
    );
    expect(mail.html).toContain('<li><bdi>Effects: 2 → 4</bdi></li>');
  });
});

describe('the question about an effect', () => {
  it('names the effect and why a person is needed in words, never the raw values', () => {
    const incident = hostileIncident();
    const asked = effectQuestionEmail(
      incident,
      { effectId: 'P1-E2', kind: 'credit', counterparty: 'cp_x', amount: { currency: 'EUR', minor: 500 } },
      'in-doubt',
      'sending ended',
      'oncall@example.com',
      'https://x/effects/y',
    );
    expect(asked.subject).toBe(
      `[${incident.severity}] ${incident.id}: Goodwill credit P1-E2 of EUR 5.00 needs you (in doubt)`,
    );
    expect(asked.text).toContain('Act could not settle goodwill credit P1-E2 of EUR 5.00 (customer cp_x)');
    const mismatch = planMismatchEmail(
      incident,
      2,
      'effects differ',
      'lead@example.com',
      'https://x/effects/z',
    );
    expect(mismatch.subject).toBe(`[${incident.severity}] ${incident.id}: plan v2 needs you (plan mismatch)`);
    for (const raw of ['in-doubt', 'plan-mismatch']) {
      expect(`${asked.subject}\n${asked.text}\n${mismatch.subject}`).not.toContain(raw);
    }
    expect(asked.subject).not.toMatch(/: credit /);
  });
});

describe("a round's deadlines in e-mails", () => {
  it('tells a backup whom they stand in for, and that the first decision for the role counts', () => {
    const mail = approvalRequestEmail(hostileIncident(), {
      ...ASK,
      to: { email: 'lou@example.com', name: 'Lou Legal' },
      dueAt: '2026-11-26T09:00:00.000Z',
      backupFor: {
        primary: { email: 'legal@example.com', name: 'Lee Legal' },
        deadline: '2026-11-25T09:00:00.000Z',
      },
    });
    expect(mail.to).toBe('lou@example.com');
    expect(mail.text).toContain('by 26 Nov 09:00 UTC');
    expect(mail.text).toContain(
      "You are asked as Legal's backup: Lee Legal (legal@example.com) had not decided by 25 Nov 09:00 UTC. Whichever of you decides first decides for Legal",
    );
    expect(mail.html).toContain('You are asked as Legal&#39;s backup');
  });

  it('reminds without a link, saying where the link is and who is asked next', () => {
    const reminder = {
      role: 'legal' as const,
      to: { email: 'legal@example.com', name: 'Lee Legal' },
      round: 2,
      planVersion: 3,
      dueAt: '2026-11-25T09:00:00.000Z',
      finalAt: '2026-11-26T09:00:00.000Z',
      requestedAt: '2026-11-22T09:00:00.000Z',
    };
    const withBackup = approvalReminderEmail(hostileIncident(), {
      ...reminder,
      backup: { email: 'lou@example.com', name: 'Lou Legal' },
    });
    expect(withBackup.subject).toMatch(
      /^\[SEV\d\] INC-2026-0003: reminder — Legal approval needed by 25 Nov 09:00 UTC$/,
    );
    expect(withBackup.text).toContain('plan v3 (round 2) is still needed, by 25 Nov 09:00 UTC');
    expect(withBackup.text).toContain('e-mailed to you at 22 Nov 09:00 UTC');
    expect(withBackup.text).toContain('Lou Legal (lou@example.com) is asked as your backup');
    const alone = approvalReminderEmail(hostileIncident(), reminder);
    expect(alone.text).toContain('If nobody has decided for Legal by 26 Nov 09:00 UTC, the SRE lead is told');
    for (const mail of [withBackup, alone]) {
      expect(`${mail.text}${mail.html}`).not.toMatch(/https?:|\/approvals\//);
      expect(mail.subject).not.toMatch(BIDI);
    }
  });
});

describe('plain-text bodies', () => {
  // Every way a value can start a new line of plain text: CR/LF, VT, FF, NEL, U+2028, U+2029.
  const BREAKS = ['\r\n', '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029'];
  const hostile = (value: string) => BREAKS.map((b) => `${value}${b}Bcc: x@evil.example`).join('');
  const noInjectedLine = (text: string) => {
    for (const line of text.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/)) expect(line).not.toMatch(/^\s*Bcc:/);
    expect(text).toContain('Bcc: x@evil.example');
  };
  const incident = { ...hostileIncident(), title: hostile('Refund twice') };

  it("take no line from a customer's name or the incident's summary in the customer's notice", () => {
    const notice = customerNotice(
      { id: 'INC-2026-0003', customerSummary: hostile('we charged you twice.') },
      'refund_confirmation',
      { email: 'ann@example.com', name: hostile('Ann') },
      { minor: 2500, currency: 'EUR' },
    );
    noInjectedLine(notice.text);
    expect(notice.text.split('\n')[0]).toMatch(/^Hello Ann {2}Bcc: x@evil\.example/);
  });

  it('take no line from titles, names, summaries or details in the e-mails to people', () => {
    const mails = [
      approvalRequestEmail(
        { ...incident, plan: { ...incident.plan, summary: hostile('Tell them') } as typeof incident.plan },
        {
          ...ASK,
          to: { email: 'legal@example.com', name: hostile('Lee') },
          backupFor: {
            primary: { email: 'p@example.com', name: hostile('Pat') },
            deadline: '2026-11-24T09:00:00.000Z',
          },
          changes: { since: 1, lines: [hostile('summary changed')] },
        },
      ),
      effectQuestionEmail(
        incident,
        { effectId: 'P1-E1', kind: 'notice', counterparty: 'cp_x' },
        'in-doubt',
        hostile('sending ended'),
        'oncall@example.com',
        'https://x/effects/y',
      ),
      workroomInvitation(incident, 'responder', 'r@example.com', 'https://x/w', undefined),
      regulatoryClockEmail(incident, { due: '2026-11-25T09:00:00.000Z', missed: false }, 'sre@x', 'l@x'),
      approvalReminderEmail(incident, {
        role: 'legal',
        to: { email: 'legal@example.com', name: hostile('Lee') },
        backup: { email: 'b@example.com', name: hostile('Bo') },
        round: 1,
        planVersion: 1,
        dueAt: '2026-11-25T09:00:00.000Z',
        finalAt: '2026-11-26T09:00:00.000Z',
        requestedAt: '2026-11-24T09:00:00.000Z',
      }),
      escalationEmail(incident, hostile('the round passed its deadline'), [hostile('Lee Legal')], 's@x'),
    ];
    for (const mail of mails) noInjectedLine(mail.text);
  });
});
