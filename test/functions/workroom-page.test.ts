/**
 * The workroom page as HTML: every control of every form labelled and reachable by its own id, the
 * customer upload a multipart form with a file input, a failed post shown with what was typed and
 * with each issue named as the form labels it, and the plan's totals per P&L line.
 */
import { describe, expect, it } from 'vitest';
import type { Incident } from '../../functions/domain/incident.ts';
import { LIMITS } from '../../functions/domain/limits.ts';
import type { RemediationPlan } from '../../functions/domain/plan.ts';
import type { WorkAction } from '../../functions/domain/workroom.ts';
import { WORK_ACTIONS } from '../../functions/domain/workroom.ts';
import type { WorkroomView } from '../../functions/use-cases/workroom.ts';
import { controlOf, FROM_FORM } from '../../functions/workroom/forms.ts';
import { workroomPage } from '../../functions/workroom/page.ts';
import { REFUND_CREDIT_NOTICE } from '../support/casework.ts';
import { plainIncident } from '../support/incidents.ts';

const LINK = 'INC-2026-0001.0123456789abcdef.secret';
const EVERY_ACTION = Object.keys(WORK_ACTIONS) as WorkAction[];

function view(
  incident: Incident,
  actions: readonly WorkAction[],
  asked: WorkroomView['asked'],
): WorkroomView {
  return {
    person: { email: 'responder@casebook.local', role: 'responder' },
    incident,
    asked,
    deadlines: [],
    metrics: {},
    timeline: [],
    customers: { items: [] },
    approvals: [],
    ledger: { count: 0, summary: [], page: [] },
    actions,
    now: '2026-11-22T10:00:00.000Z',
  };
}

const understanding: Incident = {
  ...plainIncident(1),
  phase: 'Understand',
  status: 'MITIGATED',
  acknowledgedAt: '2026-11-22T09:05:00.000Z',
  mitigatedAt: '2026-11-22T09:20:00.000Z',
};
const askedForPlan = { summary: 'Write the remediation plan.', action: 'plan' as const };

const attributes = (tag: string) =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

describe('the workroom page', () => {
  it('gives every control of every form its own id and a label that points at it', () => {
    const html = workroomPage(view(understanding, EVERY_ACTION, askedForPlan), LINK);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);

    const controls = [...html.matchAll(/<(input|select|textarea)\b[^>]*>/g)].map((m) => attributes(m[0]));
    const labelledBy = new Set([...html.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]));
    const wrapped = new Set(
      [...html.matchAll(/<label><input[^>]*\sid="([^"]+)"/g)].map((m) => m[1] as string),
    );
    expect(controls.length).toBeGreaterThan(40);
    for (const control of controls) {
      expect(control.id, JSON.stringify(control)).toBeDefined();
      expect(labelledBy.has(control.id) || wrapped.has(control.id as string), control.id).toBe(true);
    }
    // The impact's and the plan's summaries were both `id="summary"`: the second label named the first.
    expect(labelledBy).toContain('impact-summary');
    expect(labelledBy).toContain('plan-summary');
  });

  it('uploads the customer list as a multipart form with a file input', () => {
    const html = workroomPage(view(understanding, ['customers'], askedForPlan), LINK);
    const form = /<form[^>]*id="customers"[^>]*>/.exec(html)?.[0] ?? '';
    expect(attributes(form)).toMatchObject({
      method: 'post',
      action: `/work/${LINK}/customers`,
      enctype: 'multipart/form-data',
    });
    expect(html).toMatch(
      /<input type="file" id="customers-file" name="file" accept="\.csv,text\/csv" required>/,
    );
  });

  it('says how large a customer list may be, in megabytes and in customers, and that many fit', () => {
    const html = workroomPage(view(understanding, ['customers'], askedForPlan), LINK);
    expect(LIMITS.customerListBytes).toBe(4 * 1024 * 1024);
    expect(LIMITS.customerListRowsAbout).toBe(30_000);
    expect(html).toContain('Up to 4 MB: about 30,000 customers.');
    // Rows as long as real ones: a long name and address, a four-digit amount, a Stripe charge id.
    const row = (n: number) =>
      `cus_${String(n).padStart(10, '0')},firstname.lastname-${n}@example.com,Firstname Lastname-${n},1234.50,EUR,payments,ch_3PjZ${'x'.repeat(20)}`;
    const csv = [
      'customer_ref,email,name,amount,currency,product_area,payment_ref',
      ...Array.from({ length: LIMITS.customerListRowsAbout }, (_, i) => row(i + 1)),
    ].join('\n');
    expect(Buffer.byteLength(csv)).toBeLessThanOrEqual(LIMITS.customerListBytes);
  });

  it('shows a failed form first, as it was typed, and names each issue by its label', () => {
    const posted = new URLSearchParams({
      summary: 'Refund & <apologise>',
      kind_1: 'refund',
      amount_1: 'affected',
      obligation_1: 'tos',
      kind_2: 'credit',
      amount_2: '5,00',
      currency_2: 'eur',
      obligation_2: 'brand',
    });
    const issues = [{ field: 'apply[1].amount', message: 'must be a decimal such as 12.50' }];
    const html = workroomPage(view(understanding, ['impact', 'plan', 'note'], askedForPlan), LINK, {
      action: 'plan',
      issues,
      posted,
    });
    const errors = /<div class="box errors" role="alert">(.*?)<\/div>/s.exec(html)?.[1] ?? '';
    expect(errors).toContain('Nothing was recorded (Write the remediation plan)');
    expect(errors).toContain(
      '<a href="#plan-amount_2">Rule 2: Amount per customer</a>: must be a decimal such as 12.50',
    );
    // The plan form follows the errors, before everything else.
    expect(html.indexOf('id="plan"')).toBeGreaterThan(html.indexOf('class="box errors"'));
    expect(html.indexOf('id="plan"')).toBeLessThan(html.indexOf('<h2>'));
    expect(html).toContain(
      '<textarea id="plan-summary" name="summary" required dir="auto">Refund &amp; &lt;apologise&gt;</textarea>',
    );
    expect(html).toMatch(
      /<input type="text" id="plan-amount_2" name="amount_2" aria-invalid="true"[^>]* value="5,00">/,
    );
    expect(html).toMatch(
      /<select id="plan-obligation_2" name="obligation_2">[\s\S]*?<option value="brand" selected>/,
    );
    expect(html).toMatch(/<option value="credit" selected>Goodwill credit<\/option>/);
    // Other forms start empty.
    expect(html).toContain('<textarea id="impact-summary" name="summary" required dir="auto"></textarea>');
  });

  it('names the line of a CSV file that was refused', () => {
    const html = workroomPage(view(understanding, ['customers'], askedForPlan), LINK, {
      action: 'customers',
      issues: [{ field: 'line 3', message: 'amount must be a decimal such as 12.50' }],
    });
    expect(html).toContain(
      '<a href="#customers-file">CSV file</a> (<code>line 3</code>): amount must be a decimal such as 12.50',
    );
  });

  it('says what the last post recorded, after what is asked', () => {
    const html = workroomPage(view(understanding, ['impact', 'plan'], askedForPlan), LINK, {
      recorded: 'impact',
    });
    expect(html).toContain('<strong>Recorded.</strong> The impact is recorded.');
    expect(html.indexOf('Recorded.')).toBeGreaterThan(html.indexOf('Asked of you'));
  });

  it('totals the plan per kind, currency and line, and per line', () => {
    const plan: RemediationPlan = {
      version: 1,
      summary: 'Refund, credit, apologise',
      proposedAt: '2026-11-22T09:40:00.000Z',
      proposedBy: 'responder@casebook.local',
      effectCount: 9,
      totals: [
        { kind: 'credit', currency: 'EUR', obligation: 'brand', count: 3, minor: 1500 },
        { kind: 'notice', currency: null, obligation: 'brand', count: 3, minor: 0 },
        { kind: 'refund', currency: 'EUR', obligation: 'tos', count: 2, minor: 1975 },
        { kind: 'refund', currency: 'JPY', obligation: 'tos', count: 1, minor: 1200 },
      ],
      effectsHash: 'e'.repeat(64),
      hash: 'h'.repeat(64),
    };
    const html = workroomPage(view({ ...understanding, plan }, ['submit-plan'], askedForPlan), LINK);
    expect(html).toContain('<td data-label="Total">EUR 15.00</td><td data-label="Line">Brand line</td>');
    expect(html).toContain(
      '<strong>ToS line</strong> EUR 19.75, JPY 1200 · <strong>Brand line</strong> EUR 15.00',
    );
  });
});

describe('the controls an issue of a form post points at', () => {
  it('maps the JSON field of each action back to the control it came from', () => {
    expect(controlOf('plan', 'apply[1].amount')).toEqual({ name: 'amount_2' });
    expect(controlOf('plan', 'apply[0]')).toEqual({ name: 'kind_1' });
    expect(controlOf('plan', '(body)')).toEqual({ name: 'kind_1' });
    expect(controlOf('contain', 'actions[2].safety')).toEqual({ name: 'safety_3' });
    expect(controlOf('impact', 'users')).toEqual({ name: 'users' });
    expect(controlOf('impact', 'assets[0]')).toEqual({ name: 'assets', detail: 'assets[0]' });
    expect(controlOf('customers', 'line 3')).toEqual({ name: 'file', detail: 'line 3' });
    expect(controlOf('postmortem', 'lessons')).toEqual({ name: 'lessonsTechnical' });
    expect(controlOf('postmortem', 'lessons.governance[0]')).toEqual({ name: 'lessonsGovernance' });
    expect(controlOf('postmortem', 'actionItems[0].due')).toEqual({
      name: 'actionItems',
      detail: 'actionItems[0].due',
    });
  });

  it('reads the plan form into the JSON a script sends, and keeps a row with an amount but no kind', () => {
    // The plan the end-to-end tests send as JSON, filled in as a person does (the line always has a value).
    const fields = new URLSearchParams({
      summary: REFUND_CREDIT_NOTICE.summary,
      kind_1: 'refund',
      amount_1: ' affected ',
      obligation_1: 'tos',
      kind_2: 'credit',
      amount_2: '5.00',
      currency_2: 'eur',
      obligation_2: 'brand',
      kind_3: 'notice',
      obligation_3: 'brand',
      template_3: 'apology',
      kind_4: '',
      obligation_4: 'tos',
    });
    expect(FROM_FORM.plan(fields)).toEqual(REFUND_CREDIT_NOTICE);

    fields.set('amount_4', '9.99');
    const parsed = WORK_ACTIONS.plan.schema.safeParse(FROM_FORM.plan(fields));
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual(['apply.3.kind']);
  });
});
