import { describe, expect, it } from 'vitest';
import { classify } from '../../functions/domain/alert.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { approvalRequestEmail, workroomInvitation } from '../../functions/domain/messages.ts';
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

describe('text from outside in e-mails', () => {
  it('reaches an approval subject as one line without bidi controls', () => {
    const mail = approvalRequestEmail(
      hostileIncident(),
      'legal',
      'legal@example.com',
      'https://x/approvals/y',
    );
    expect(mail.subject).not.toMatch(BIDI);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).toContain('Refund lanigiro eht tnes twice');
    expect(mail.text).not.toMatch(BIDI);
  });

  it('is isolated in the HTML body, so it cannot reorder what follows', () => {
    const mail = approvalRequestEmail(
      hostileIncident(),
      'legal',
      'legal@example.com',
      'https://x/approvals/y',
    );
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
