import { describe, expect, it } from 'vitest';
import { checkNormalizedAlert, classify } from '../../functions/domain/alert.ts';
import { buildCaseFile } from '../../functions/domain/case-file.ts';
import { InvalidInputError } from '../../functions/domain/errors.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { LIMITS } from '../../functions/domain/limits.ts';
import { DECLARATION_CATEGORIES, parseDeclaration } from '../../functions/domain/sources/declaration.ts';
import { RML3_CATEGORIES } from '../../functions/domain/vocabulary.ts';
import { complaint } from '../support/declarations.ts';

const AT = '2026-11-22T10:00:00.000Z';
const declare = (body: unknown, principal?: string) =>
  parseDeclaration(body, { at: AT, ...(principal ? { principal } : {}) });

/** The fields and messages of the 400 for `body`, in order. */
function issuesOf(body: unknown): string[] {
  try {
    declare(body);
  } catch (error) {
    if (error instanceof InvalidInputError) return error.issues.map((i) => `${i.field}: ${i.message}`);
    throw error;
  }
  throw new Error('accepted');
}

describe('a declaration', () => {
  it('becomes an alert of its own source that passes the same check as every source parser', () => {
    const alert = declare(complaint, 'arn:aws:iam::123456789012:user/cs-ana');
    expect(checkNormalizedAlert(alert)).toEqual(alert);
    expect(alert).toMatchObject({
      source: 'declared',
      status: 'firing',
      title: complaint.title,
      description: complaint.description,
      startedAt: AT,
      customerContacts: [],
      labels: { category: 'financial_discrepancy', cs_ticket: 'CS-4521', reporter: 'ana@corp.example' },
      declaredBy: {
        reporter: 'ana@corp.example',
        csTicketId: 'CS-4521',
        principal: 'arn:aws:iam::123456789012:user/cs-ana',
      },
    });
    expect(alert.correlationKey).toMatch(/^declared:[0-9a-f]{32}$/);
  });

  it('opens as RML3 by default: a default-to-RML3 category, or a gray case for other', () => {
    for (const category of RML3_CATEGORIES) {
      const c = classify(declare({ ...complaint, category }).labels);
      expect(c).toMatchObject({ world: 'RML3', isIncident: true, categories: [category] });
    }
    const other = classify(declare({ ...complaint, category: 'other' }).labels);
    expect(other).toMatchObject({ world: 'RML3', isIncident: true, categories: [] });
    expect(other.reason).toMatch(/Gray case/);
    // A default-to-RML3 category outweighs a world the person chose (seed 001 §4.1).
    expect(classify(declare({ ...complaint, world: 'RML2' }).labels).world).toBe('RML3');
    // Only `other` with an explicit lower world is not an incident here.
    const downscoped = classify(declare({ ...complaint, category: 'other', world: 'RML2' }).labels);
    expect(downscoped).toMatchObject({ world: 'RML2', isIncident: false });
  });

  it('takes the severity it is given, and errs on the serious side (SEV2) without one, as alerts do', () => {
    expect(classify(declare({ ...complaint, severity: 'SEV4' }).labels).severity).toBe('SEV4');
    expect(classify(declare(complaint).labels).severity).toBe('SEV2');
  });

  it('correlates by ticket, whoever declares it, however the ticket is capitalised or spaced', () => {
    const first = declare(complaint);
    const again = declare({ ...complaint, csTicketId: ' cs-4521 ', reporter: 'Bo@Corp.Example' });
    expect(again.correlationKey).toBe(first.correlationKey);
    expect(again.occurrences).toEqual(first.occurrences);
    // Another reporter is news for the timeline; a retry of the same declaration is not.
    expect(again.deliveryKey).not.toBe(first.deliveryKey);
    expect(declare(complaint).deliveryKey).toBe(first.deliveryKey);
    expect(again.declaredBy?.reporter).toBe('bo@corp.example');
    expect(declare({ ...complaint, csTicketId: 'CS-4522' }).correlationKey).not.toBe(first.correlationKey);
  });

  it('strips bidirectional controls from the text and makes the title one line', () => {
    const alert = declare({
      ...complaint,
      title: 'Refund \u202Eelbuod\u202C\nsent',
      description: 'Line one\u200F\nline two',
    });
    expect(alert.title).toBe('Refund elbuod sent');
    expect(alert.description).toBe('Line one\nline two');
  });

  it('keeps when the trouble began, if the person knows', () => {
    const alert = declare({ ...complaint, startedAt: '2026-11-20T09:30:00+01:00' });
    expect(alert.startedAt).toBe('2026-11-20T08:30:00.000Z');
    expect(alert.alerts[0]?.startsAt).toBe('2026-11-20T08:30:00.000Z');
  });

  it('names every bad field, and refuses rather than cuts', () => {
    expect(issuesOf({})).toEqual([
      'title: is required',
      'description: is required',
      'category: is required',
      'csTicketId: is required',
      'reporter: is required',
    ]);
    expect(issuesOf({ ...complaint, category: 'billing' })).toEqual([
      `category: must be one of ${DECLARATION_CATEGORIES.join(', ')}`,
    ]);
    expect(issuesOf({ ...complaint, reporter: 'Ana <ana@corp.example>' })).toEqual([
      'reporter: must be an email address',
    ]);
    expect(issuesOf({ ...complaint, severity: 'P1', world: 'rml3' })).toEqual([
      'severity: must be SEV1, SEV2, SEV3, SEV4',
      'world: must be RML1, RML2, RML3',
    ]);
    expect(issuesOf({ ...complaint, title: 't'.repeat(LIMITS.titleBytes + 1) })).toEqual([
      `title: must be at most ${LIMITS.titleBytes} bytes of UTF-8`,
    ]);
    expect(issuesOf({ ...complaint, description: '   \n ' })).toEqual(['description: must not be blank']);
    expect(issuesOf({ ...complaint, description: 'a\u0000b' })).toEqual([
      'description: must not hold control characters (line breaks and tabs are fine)',
    ]);
    expect(issuesOf({ ...complaint, title: 'lone \uD800' })).toEqual([
      'title: must be valid Unicode (it holds a lone surrogate)',
    ]);
    expect(issuesOf({ ...complaint, csTicketId: 'CS-\u202E1' })).toEqual([
      'csTicketId: must be one line without control or bidirectional formatting characters',
    ]);
    expect(issuesOf({ ...complaint, startedAt: '2026-02-30T10:00:00Z' })).toEqual([
      'startedAt: must be a real RFC 3339 date-time such as 2026-11-22T10:00:00Z',
    ]);
    expect(issuesOf({ ...complaint, startedAt: '2026-11-22T11:00:00Z' })).toEqual([
      'startedAt: must not be in the future',
    ]);
    expect(issuesOf({ ...complaint, severty: 'SEV1' })).toEqual(['severty: is not a field of a declaration']);
    expect(issuesOf(JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(complaint).slice(1)}`))).toEqual([
      '__proto__: is not a field of a declaration',
    ]);
    expect(issuesOf([complaint])[0]).toMatch(/^\(body\): /);
  });

  it("keeps customers' e-mail addresses out: the timeline and the ledger cannot be erased", () => {
    const message = 'must not hold an e-mail address: the CS ticket names the customer';
    expect(issuesOf({ ...complaint, title: 'Charged twice: jane@example.com' })).toEqual([
      `title: ${message}`,
    ]);
    expect(issuesOf({ ...complaint, description: 'Write to jane@example.com' })).toEqual([
      `description: ${message}`,
    ]);
    expect(issuesOf({ ...complaint, csTicketId: 'jane@example.com' })).toEqual([
      "csTicketId: must be the ticket's id or link, not an e-mail address",
    ]);
  });

  it('is detected by its CS ticket in the case file (seed 000 §4)', () => {
    const alert = declare(complaint);
    const incident = openIncident('INC-2026-0001', alert, classify(alert.labels), AT);
    const caseFile = buildCaseFile({ incident, timeline: [], ledger: [], decisions: [] });
    expect(caseFile.detected_by).toEqual([{ type: 'cs_ticket', id: 'CS-4521' }]);
  });
});
