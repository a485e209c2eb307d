import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNormalizedAlert } from '../../functions/domain/alert.ts';
import { InvalidInputError } from '../../functions/domain/errors.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import { LIMITS, TRUNCATION_MARKER } from '../../functions/domain/limits.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';

const probeFixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/probe', name), 'utf8'));
const fixture = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8'));

function issuesOf(body: unknown): { field: string; message: string }[] {
  try {
    parseAlertmanagerWebhook(body);
  } catch (error) {
    if (error instanceof InvalidInputError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the payload to be rejected');
}

describe('Alertmanager webhook (version 4)', () => {
  it('normalizes a real firing notification', () => {
    const alert = parseAlertmanagerWebhook(fixture());
    expect(alert.source).toBe('alertmanager');
    expect(alert.status).toBe('firing');
    expect(alert.title).toBe('Possible double charge: settled payments were charged twice');
    // Nanosecond RFC 3339 becomes UTC ISO 8601 with milliseconds.
    expect(alert.startedAt).toBe('2026-11-22T10:23:45.123Z');
    // Go's zero time means "has not ended": no endsAt.
    expect(alert.alerts[0]?.endsAt).toBeUndefined();
    expect(alert.customerContacts).toEqual(['ada@example.com', 'grace@example.com']);
    expect(alert.customerSummary).toBe('a payment you made on 22 November was charged twice.');
    expect(alert.productArea).toBe('payments');
    expect(alert.correlationKey).toMatch(/^alertmanager:[0-9a-f]{32}$/);
  });

  it('gives a redelivery the same correlation and delivery keys, and a changed group a new delivery key', () => {
    const first = parseAlertmanagerWebhook(fixture());
    const again = parseAlertmanagerWebhook(fixture());
    expect(again.correlationKey).toBe(first.correlationKey);
    expect(again.deliveryKey).toBe(first.deliveryKey);

    const resolved = fixture();
    resolved.status = 'resolved';
    (resolved.alerts as Record<string, unknown>[])[0] = {
      ...(resolved.alerts as Record<string, unknown>[])[0],
      status: 'resolved',
      endsAt: '2026-11-22T11:00:00Z',
    };
    const later = parseAlertmanagerWebhook(resolved);
    expect(later.correlationKey).toBe(first.correlationKey);
    expect(later.deliveryKey).not.toBe(first.deliveryKey);
    expect(later.alerts[0]?.endsAt).toBe('2026-11-22T11:00:00.000Z');
  });

  it('correlates by receiver and group key', () => {
    const other = fixture();
    other.groupKey = '{}/{world="RML3"}:{alertname="RefundMissing"}';
    expect(parseAlertmanagerWebhook(other).correlationKey).not.toBe(
      parseAlertmanagerWebhook(fixture()).correlationKey,
    );
  });

  it('names every missing or wrong field', () => {
    const body = fixture();
    body.version = '3';
    delete body.groupKey;
    (body.alerts as Record<string, unknown>[])[0] = {
      ...(body.alerts as Record<string, unknown>[])[0],
      startsAt: 'yesterday',
    };
    const fields = issuesOf(body).map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['version', 'groupKey', 'alerts[0].startsAt']));
  });

  it('rejects dates that have the right shape but do not exist, in startsAt and endsAt', () => {
    const body = fixture();
    const alert = (body.alerts as Record<string, unknown>[])[0] as Record<string, unknown>;
    alert.startsAt = '2026-13-01T00:00:00Z';
    alert.endsAt = '2026-02-30T25:00:00Z';
    expect(issuesOf(body)).toEqual([
      { field: 'alerts[0].startsAt', message: 'is not a real date' },
      { field: 'alerts[0].endsAt', message: 'is not a real date' },
    ]);
  });

  it('rejects an empty alert list and a body that is not an object', () => {
    expect(issuesOf({ ...fixture(), alerts: [] })).toEqual([
      { field: 'alerts', message: 'must hold at least one alert' },
    ]);
    expect(issuesOf('hello')[0]?.field).toBe('(body)');
  });

  it('rejects customer contacts that are not email addresses, naming where they are', () => {
    const body = fixture();
    (body.commonAnnotations as Record<string, string>).customer_contacts = 'ada@example.com, not-an-address';
    expect(issuesOf(body)).toContainEqual({
      field: 'commonAnnotations.customer_contacts',
      message: 'not an email address: not-an-address',
    });
  });
});

describe('bounds on what a notification may store (LIMITS)', () => {
  it("cuts the probe's 900,000-character description and 500,000-character label to their bounds, keeping size and SHA-256", () => {
    const body = fixture();
    const description = 'd'.repeat(900_000);
    const label = 'l'.repeat(500_000);
    (body.commonAnnotations as Record<string, string>).description = description;
    (body.commonLabels as Record<string, string>).instance = label;
    const alert = parseAlertmanagerWebhook(body);
    expect(Buffer.byteLength(alert.description ?? '')).toBe(LIMITS.annotationValueBytes);
    expect(alert.description?.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(alert.annotations.description).toBe(alert.description);
    expect(Buffer.byteLength(alert.labels.instance ?? '')).toBe(LIMITS.labelValueBytes);
    expect(alert.truncated).toEqual([
      { field: 'commonLabels.instance', bytes: 500_000, sha256: sha256Hex(label) },
      { field: 'commonAnnotations.description', bytes: 900_000, sha256: sha256Hex(description) },
    ]);
    // What is left is still a valid normalized alert.
    expect(checkNormalizedAlert(alert)).toEqual(alert);
  });

  it('cuts at a character boundary, never inside a multi-byte character', () => {
    const body = fixture();
    (body.commonAnnotations as Record<string, string>).summary = '😀'.repeat(1000);
    const { title } = parseAlertmanagerWebhook(body);
    expect(Buffer.byteLength(title)).toBeLessThanOrEqual(LIMITS.titleBytes);
    expect(title.isWellFormed()).toBe(true);
    expect(title.replace(TRUNCATION_MARKER, '')).toMatch(/^(😀)+$/u);
  });

  it('refuses what cannot be cut without changing its meaning, naming the field', () => {
    const tooMany = fixture();
    tooMany.commonLabels = Object.fromEntries(
      Array.from({ length: LIMITS.labels + 1 }, (_, i) => [`l${i}`, 'v']),
    );
    // 65 common labels and the group label alertname.
    expect(issuesOf(tooMany)).toEqual([
      { field: 'commonLabels', message: `must hold at most ${LIMITS.labels} labels (has 66)` },
    ]);

    const longName = fixture();
    (longName.commonAnnotations as Record<string, string>)['n'.repeat(LIMITS.nameBytes + 1)] = 'v';
    expect(issuesOf(longName)).toEqual([
      { field: 'commonAnnotations', message: `has a name longer than ${LIMITS.nameBytes} bytes` },
    ]);

    const longPrint = fixture();
    ((longPrint.alerts as Record<string, unknown>[])[0] as Record<string, unknown>).fingerprint = 'f'.repeat(
      129,
    );
    expect(issuesOf(longPrint).map((i) => i.field)).toEqual(['alerts[0].fingerprint']);

    const crowd = fixture();
    (crowd.commonAnnotations as Record<string, string>).customer_contacts = Array.from(
      { length: LIMITS.customerContacts + 1 },
      (_, i) => `c${i}@example.com`,
    ).join(',');
    const [only] = crowd.alerts as { annotations: Record<string, string> }[];
    if (only) delete only.annotations.customer_contacts;
    expect(issuesOf(crowd)).toEqual([
      {
        field: 'commonAnnotations.customer_contacts',
        message: `must name at most ${LIMITS.customerContacts} customers (names 101)`,
      },
    ]);
  });

  it("refuses the probe's impossible date instead of rolling it over to 2 March", () => {
    const body = fixture();
    ((body.alerts as Record<string, unknown>[])[0] as Record<string, unknown>).startsAt =
      '2026-02-30T10:00:00Z';
    expect(issuesOf(body)).toEqual([{ field: 'alerts[0].startsAt', message: 'is not a real date' }]);
  });
});

describe('the normalized alert schema', () => {
  it('refuses the object the probe passed through /webhooks/constructor, naming the normalized fields', () => {
    const smuggled = probeFixture('smuggled-normalized-alert.json');
    try {
      checkNormalizedAlert(smuggled);
      throw new Error('expected a rejection');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues.map((i) => i.field)).toEqual(
        expect.arrayContaining(['normalized.deliveryKey', 'normalized.alerts', 'normalized.startedAt']),
      );
    }
  });

  it('drops members the schema does not know', () => {
    const alert = { ...parseAlertmanagerWebhook(fixture()), planOverride: { to: 'x@example.com' } };
    expect(checkNormalizedAlert(alert)).not.toHaveProperty('planOverride');
  });
});
