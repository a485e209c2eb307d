import { describe, expect, it } from 'vitest';
import { applied, incidentDeadlines, takeAction, whatIsAsked } from '../../functions/domain/casework.ts';
import { parseCustomersCsv, parseCustomersJson } from '../../functions/domain/customers.ts';
import type { Impact } from '../../functions/domain/deadlines.ts';
import {
  DEFAULT_DEADLINE_POLICY,
  deadlines,
  impactSize,
  missed,
  nextBusinessDay,
  roundClock,
  secondsUntilNextCheck,
} from '../../functions/domain/deadlines.ts';
import {
  allowedActions,
  isWorkAction,
  postmortemSchema,
  refusal,
  WORK_ACTIONS,
} from '../../functions/domain/workroom.ts';
import { plainIncident } from '../support/incidents.ts';

describe('deadlines from severity targets (seed 003)', () => {
  const facts = { severity: 'SEV1' as const, detectedAt: '2026-11-27T16:00:00.000Z' };

  it('gives SEV1 15 minutes to respond and 2 hours to resolve, and SEV3 the next business day', () => {
    expect(deadlines(facts).map((d) => [d.kind, d.due])).toEqual([
      ['response', '2026-11-27T16:15:00.000Z'],
      ['resolution', '2026-11-27T18:00:00.000Z'],
    ]);
    // Friday afternoon: the next business day is Monday at 09:00 UTC.
    expect(deadlines({ ...facts, severity: 'SEV3' })[0]?.due).toBe('2026-11-30T09:00:00.000Z');
    expect(nextBusinessDay(new Date('2026-11-24T20:00:00Z')).toISOString()).toBe('2026-11-25T09:00:00.000Z');
  });

  it('moves with the severity, marks what was met, and adds the 72-hour regulatory clock for personal data', () => {
    const sev2 = deadlines({
      ...facts,
      severity: 'SEV2',
      acknowledgedAt: '2026-11-27T16:05:00.000Z',
      piiAwareAt: '2026-11-27T17:00:00.000Z',
    });
    expect(sev2.map((d) => [d.kind, d.due, d.metAt])).toEqual([
      ['response', '2026-11-27T17:00:00.000Z', '2026-11-27T16:05:00.000Z'],
      ['resolution', '2026-11-28T00:00:00.000Z', undefined],
      ['regulatory', '2026-11-30T17:00:00.000Z', undefined],
    ]);
    expect(missed(sev2, new Date('2026-11-28T01:00:00Z')).map((d) => d.kind)).toEqual(['resolution']);
  });

  it('runs the regulatory clock for as long as configuration says, from awareness', () => {
    const rules = { ...DEFAULT_DEADLINE_POLICY, regulatoryMinutes: 24 * 60 };
    const all = deadlines({ ...facts, piiAwareAt: '2026-11-27T17:00:00.000Z' }, rules);
    expect(all.find((d) => d.kind === 'regulatory')?.due).toBe('2026-11-28T17:00:00.000Z');
  });

  it('looks again at the next deadline, never sooner than a minute nor later than an hour', () => {
    const all = deadlines(facts);
    expect(secondsUntilNextCheck(all, new Date('2026-11-27T16:10:00Z'))).toBe(300);
    expect(secondsUntilNextCheck(all, new Date('2026-11-27T16:14:50Z'))).toBe(60);
    expect(secondsUntilNextCheck(all, new Date('2026-11-27T19:00:00Z'))).toBe(3600);
  });
});

describe("an approval round's moments (issue 11)", () => {
  it('reminds at half the deadline, asks the backups at the deadline, escalates at the deadline plus the escalation time', () => {
    expect(roundClock('2026-11-27T16:00:00.000Z', DEFAULT_DEADLINE_POLICY, 'SEV4')).toEqual({
      remindAt: '2026-11-29T04:00:00.000Z',
      dueAt: '2026-11-30T16:00:00.000Z',
      finalAt: '2026-12-01T16:00:00.000Z',
    });
    // The decision deadline fits the severity: a SEV1 round is due in 30 minutes, well before its 2 h resolution.
    expect(roundClock('2026-11-27T16:00:00.000Z', DEFAULT_DEADLINE_POLICY, 'SEV1')).toEqual({
      remindAt: '2026-11-27T16:15:00.000Z',
      dueAt: '2026-11-27T16:30:00.000Z',
      finalAt: '2026-11-28T16:30:00.000Z',
    });
    expect(
      Object.fromEntries(
        Object.entries(DEFAULT_DEADLINE_POLICY.targets).map(([s, t]) => [s, t.decision.minutes]),
      ),
    ).toEqual({ SEV1: 30, SEV2: 120, SEV3: 24 * 60, SEV4: 72 * 60 });
    // Minutes may be fractions, as a drill sets them.
    expect(
      roundClock(
        '2026-11-27T16:00:00.000Z',
        { ...DEFAULT_DEADLINE_POLICY, decisionMinutes: 0.4, escalationMinutes: 0.2 },
        'SEV1',
      ),
    ).toEqual({
      remindAt: '2026-11-27T16:00:12.000Z',
      dueAt: '2026-11-27T16:00:24.000Z',
      finalAt: '2026-11-27T16:00:36.000Z',
    });
  });
});

describe('personal data in the impact', () => {
  const lead = { email: 'lead@example.com', role: 'sre_lead' as const };
  const impact = {
    users: 3,
    transactions: 3,
    assets: ['money', 'pii'] as ('money' | 'pii')[],
    from: '2026-11-22T09:00:00.000Z',
    summary: 'Receipts went to the wrong customers.',
  };

  it('starts the regulatory clock once, and wakes the wait so that it is timed by the new deadline', () => {
    const incident = { ...plainIncident(1), phase: 'Understand' as const };
    const first = takeAction(incident, lead, 'impact', impact, '2026-11-22T09:30:00.000Z', []);
    expect(first.change.piiAwareAt).toBe('2026-11-22T09:30:00.000Z');
    expect(first.wake).toBe('deadline-moved');
    expect(incidentDeadlines(applied(incident, first)).map((d) => d.kind)).toContain('regulatory');

    // Assessed again, the clock keeps running from when Casebook first learnt of it.
    const again = takeAction(
      applied(incident, first),
      lead,
      'impact',
      impact,
      '2026-11-22T10:00:00.000Z',
      [],
    );
    expect(again.change.piiAwareAt).toBeUndefined();
    expect(again.wake).toBeUndefined();
    const noPii = takeAction(
      incident,
      lead,
      'impact',
      { ...impact, assets: ['money'] },
      '2026-11-22T09:30:00.000Z',
      [],
    );
    expect(noPii.wake).toBeUndefined();
  });
});

describe('impact size (seed 001 §3.3)', () => {
  const impact = (over: Partial<Impact>): Impact => ({
    users: 1,
    transactions: 1,
    assets: ['money'],
    from: 't',
    summary: 's',
    ...over,
  });
  it('is small for one customer and a small charge, medium for hundreds, large for personal data or thousands', () => {
    expect(impactSize(impact({})).size).toBe('small');
    expect(impactSize(impact({ users: 300, transactions: 410 })).size).toBe('medium');
    expect(impactSize(impact({ assets: ['pii'] }))).toEqual({
      size: 'large',
      because: 'personal data or legal exposure is involved',
    });
    expect(impactSize(impact({ transactions: 5000 })).size).toBe('large');
  });
});

describe('an uploaded customer list', () => {
  const header = 'customer_ref,email,name,amount,currency,product_area,payment_ref';

  it('reads CSV with quoting, converting amounts exactly by the currency exponent', () => {
    const customers = parseCustomersCsv(
      `${header}\ncus_1,ada@example.com,"Lovelace, Ada",12.99,EUR,payments,ch_1\ncus_2,grace@example.com,Grace,1500,JPY,,pi_2\ncus_3,lin@example.com,Lin,1.250,BHD,,\n`,
    );
    expect(customers).toEqual([
      {
        customerRef: 'cus_1',
        email: 'ada@example.com',
        name: 'Lovelace, Ada',
        amount: { minor: 1299, currency: 'EUR' },
        productArea: 'payments',
        paymentRef: 'ch_1',
      },
      {
        customerRef: 'cus_2',
        email: 'grace@example.com',
        name: 'Grace',
        amount: { minor: 1500, currency: 'JPY' },
        paymentRef: 'pi_2',
      },
      {
        customerRef: 'cus_3',
        email: 'lin@example.com',
        name: 'Lin',
        amount: { minor: 1250, currency: 'BHD' },
      },
    ]);
  });

  it('refuses the whole upload when a row is bad, naming every bad line', () => {
    const upload = `${header}\ncus_1,ada@example.com,Ada,12.999,EUR,,ch_1\ncus_2,not-an-address,Bo,5,EUR,,\ncus_1,x@example.com,X,1,XXX,,\ncus_4,d@example.com,D,1.5,JPY,,\n`;
    expect(() => parseCustomersCsv(upload)).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        issues: [
          { field: 'line 2', message: 'amount EUR has 2 decimal places, "12.999" has more' },
          { field: 'line 3', message: expect.stringContaining('email') },
          {
            field: 'line 4',
            message: 'currency must be an ISO 4217 code (e.g. EUR) when an amount is given',
          },
          { field: 'line 5', message: 'amount JPY has 0 decimal places, "1.5" has more' },
        ],
      }),
    );
    expect(() => parseCustomersCsv('ref,mail\n1,2\n')).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: 'line 1' })] }),
    );
    expect(() => parseCustomersCsv(`${header}\ncus_1,,,,,,\ncus_1,,,,,,\n`)).toThrow(
      expect.objectContaining({
        issues: [{ field: 'line 3', message: 'customer_ref cus_1 repeats line 2' }],
      }),
    );
  });

  it('reads JSON with the same columns', () => {
    expect(
      parseCustomersJson({
        customers: [{ customer_ref: 'c', email: 'c@example.com', amount: 10, currency: 'USD' }],
      }),
    ).toEqual([{ customerRef: 'c', email: 'c@example.com', amount: { minor: 1000, currency: 'USD' } }]);
    expect(() => parseCustomersJson({ customers: [{ customer_ref: 'c', surprise: 1 }] })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: 'customers[0]' })] }),
    );
  });
});

describe('workroom actions', () => {
  it('refuses an action the role may not take (403) before one the phase does not allow (409)', () => {
    expect(refusal('severity', 'responder', 'Contain')).toEqual({
      status: 403,
      message: "severity is for sre_lead, and this link is a responder's",
    });
    expect(refusal('postmortem', 'responder', 'Contain')).toEqual({
      status: 409,
      message: 'postmortem is taken in Learn; the incident is in Contain',
    });
    expect(refusal('contain', 'responder', 'Contain')).toBeUndefined();
    expect(allowedActions('responder', 'Understand')).toEqual(
      expect.arrayContaining(['impact', 'customers', 'plan', 'submit-plan', 'note']),
    );
    expect(allowedActions('responder', 'Understand')).not.toContain('cancel');
    expect(isWorkAction('constructor')).toBe(false);
    expect(isWorkAction('contain')).toBe(true);
  });

  it('makes only Acknowledge make a lead; any earlier action still meets the response deadline', () => {
    const declared = { ...plainIncident(2), phase: 'Contain' as const };
    const lead = { email: 'sre-lead@casebook.local', role: 'sre_lead' as const };
    const responder = { email: 'responder@casebook.local', role: 'responder' as const };
    const at = '2026-11-22T09:04:00.000Z';
    const severity = takeAction(declared, lead, 'severity', { severity: 'SEV1', reason: 'worse' }, at, []);
    expect(severity.change).toMatchObject({ acknowledgedAt: at, status: 'INVESTIGATING' });
    expect(severity.change).not.toHaveProperty('commander');
    const after = applied(declared, severity);
    expect(whatIsAsked(after, 'responder', [])).toMatchObject({ action: 'acknowledge' });
    const ack = takeAction(after, responder, 'acknowledge', {}, '2026-11-22T09:06:00.000Z', []);
    expect(ack.change).toEqual({ commander: responder.email });
    expect(ack.events.map((e) => e.type)).toEqual(['acknowledged']);
    expect(applied(after, ack).acknowledgedAt).toBe(at);
  });

  it('asks for the impact once the incident is contained, before the state machine leaves Contain', () => {
    const acknowledged = {
      ...plainIncident(1),
      phase: 'Contain' as const,
      status: 'INVESTIGATING' as const,
      acknowledgedAt: '2026-11-22T09:05:00.000Z',
      commander: 'responder@casebook.local',
    };
    expect(whatIsAsked(acknowledged, 'responder', [])).toMatchObject({ action: 'contain' });
    const contained = {
      ...acknowledged,
      status: 'MITIGATED' as const,
      mitigatedAt: '2026-11-22T09:20:00.000Z',
    };
    // The page used to ask for containment again right after it was reported.
    expect(whatIsAsked(contained, 'responder', [])).toMatchObject({ action: 'impact' });
  });

  it('names each bad field of a form', () => {
    const bad = WORK_ACTIONS.contain.schema.safeParse({
      actions: [{ description: '', safety: 'MAYBE', world: 'RML3' }],
      contained: 'yes',
    });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'actions.0.description',
      'actions.0.safety',
      'contained',
    ]);
    const downscope = WORK_ACTIONS.cancel.schema.safeParse({
      reason: 'r',
      outcome: 'downscoped',
      world: 'RML3',
    });
    expect(downscope.success).toBe(false);
  });

  it('takes a postmortem in seed 003’s form with lessons in the three parts of seed 000', () => {
    const postmortem = {
      title: 'Double charges on 22 Nov',
      summary: 'A retry without an idempotency key charged 41 payments twice.',
      rootCause: 'The payment saga retried without an idempotency key.',
      contributingFactors: ['No alert on duplicate captures'],
      whatWentWell: ['Refunds went out within two hours'],
      lessons: {
        technical: ['Make idempotency keys mandatory'],
        process: ['CS hand-off when RML3 alerts fire'],
        governance: ['Review the ToS compensation clause'],
      },
      actionItems: [{ item: 'Lint for missing idempotency keys', owner: 'payments team', due: '2026-12-15' }],
    };
    expect(postmortemSchema.safeParse(postmortem).success).toBe(true);
    const noLessons = postmortemSchema.safeParse({
      ...postmortem,
      lessons: { technical: [], process: [], governance: [] },
    });
    expect(noLessons.success).toBe(false);
    const badDue = postmortemSchema.safeParse({
      ...postmortem,
      actionItems: [{ item: 'x', owner: 'y', due: '2026-02-30' }],
    });
    expect(badDue.success).toBe(false);
  });
});
