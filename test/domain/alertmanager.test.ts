import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../functions/domain/errors.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';

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
