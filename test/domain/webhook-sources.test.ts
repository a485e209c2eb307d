import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNormalizedAlert } from '../../functions/domain/alert.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import { parseGenericWebhook, verifyGenericSignature } from '../../functions/domain/sources/generic.ts';
import { parseGrafanaWebhook, verifyGrafanaSignature } from '../../functions/domain/sources/grafana.ts';
import { parsePagerDutyWebhook } from '../../functions/domain/sources/pagerduty.ts';
import { basicPassword, hmacSha256Hex } from '../../functions/domain/sources/signature.ts';

const fixture = (path: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', path), 'utf8'));

describe('each parser fills where the trouble is, as its payload says it', () => {
  it('Alertmanager: from the labels', () => {
    const alert = parseAlertmanagerWebhook(fixture('alertmanager/double-charge.json'));
    expect(alert).toMatchObject({ service: 'payments-api' });
    expect(alert.environment).toBeUndefined();
    const resolved = parseAlertmanagerWebhook(fixture('alertmanager/double-charge-resolved.json'));
    expect(resolved).toMatchObject({
      status: 'resolved',
      correlationKey: alert.correlationKey,
      service: 'payments-api',
    });
    expect(resolved.alerts[0]?.endsAt).toBe('2026-11-22T11:02:15.000Z');
  });

  it('Grafana: from the labels, the trace id from an annotation', () => {
    const alert = checkNormalizedAlert(parseGrafanaWebhook(fixture('grafana/orders-lost-firing.json')));
    expect(alert).toMatchObject({
      source: 'grafana',
      status: 'firing',
      title: 'Checkout accepted orders that were never written',
      service: 'checkout-api',
      environment: 'production',
      tenant: 'acme-retail',
      region: 'eu-west-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      startedAt: '2026-12-06T08:51:03.157Z',
      occurrences: ['c6eadffa33fcdf37@2026-12-06T08:51:03.157Z'],
    });
  });

  it('Grafana: the resolved notification of a group has its key and occurrence', () => {
    const firing = parseGrafanaWebhook(fixture('grafana/orders-lost-firing.json'));
    const resolved = parseGrafanaWebhook(fixture('grafana/orders-lost-resolved.json'));
    expect(resolved.status).toBe('resolved');
    expect(resolved.correlationKey).toBe(firing.correlationKey);
    expect(resolved.occurrences).toEqual(firing.occurrences);
    expect(resolved.deliveryKey).not.toBe(firing.deliveryKey);
  });

  it("PagerDuty: the service's id as the service, its name and the priority as labels", () => {
    const alert = checkNormalizedAlert(parsePagerDutyWebhook(fixture('pagerduty/incident-triggered.json')));
    expect(alert).toMatchObject({
      source: 'pagerduty',
      status: 'firing',
      service: 'PF9KMXH',
      externalUrl: 'https://acme.pagerduty.com/incidents/Q2N7L3KZ8RT4VX',
      labels: expect.objectContaining({
        pagerduty_service: 'refunds-api (production)',
        priority: 'P1',
        urgency: 'high',
      }),
    });
    const resolved = checkNormalizedAlert(parsePagerDutyWebhook(fixture('pagerduty/incident-resolved.json')));
    expect(resolved).toMatchObject({ status: 'resolved', correlationKey: alert.correlationKey });
    expect(resolved.alerts[0]?.endsAt).toBe('2026-12-06T09:47:03.002Z');
  });

  it('PagerDuty: a ping and a note are acknowledged, not recorded', () => {
    expect(parsePagerDutyWebhook(fixture('pagerduty/pagey-ping.json'))).toMatchObject({ ignored: true });
    expect(parsePagerDutyWebhook(fixture('pagerduty/incident-annotated.json'))).toMatchObject({
      ignored: true,
    });
  });

  it('generic: every place field as sent', () => {
    const alert = checkNormalizedAlert(parseGenericWebhook(fixture('generic/export-gap-firing.json')));
    expect(alert).toMatchObject({
      source: 'generic',
      service: 'ledger-export',
      environment: 'production',
      tenant: 'acme-retail',
      region: 'eu-west-1',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      requestId: 'req-7f3a9c21',
      customerContacts: ['finance-ops@acme-retail.example'],
      occurrences: ['export-2026-12-05@2026-12-06T02:14:00.000Z'],
    });
  });
});

describe('signatures', () => {
  const body = Buffer.from('{"a":1}');
  const now = new Date('2026-12-06T10:00:00Z');
  const at = (offsetSeconds: number) => String(now.getTime() / 1000 + offsetSeconds);
  const request = (headers: Record<string, string>) => ({
    body,
    now,
    header: (name: string) => headers[name.toLowerCase()],
  });

  it('Grafana: the body alone without a timestamp header, "<ts>:" + body with one, inside five minutes', () => {
    expect(
      verifyGrafanaSignature(request({ 'x-grafana-alerting-signature': hmacSha256Hex('s', body) }), ['s']).ok,
    ).toBe(true);
    for (const [offset, ok] of [
      [300, true],
      [-300, true],
      [301, false],
      [-301, false],
    ] as const) {
      const ts = at(offset);
      const verdict = verifyGrafanaSignature(
        request({
          'x-grafana-alerting-signature': hmacSha256Hex('s', `${ts}:`, body),
          'x-grafana-alerting-signature-timestamp': ts,
        }),
        ['s'],
      );
      expect(verdict.ok, String(offset)).toBe(ok);
    }
  });

  it('generic: a signature over another timestamp is refused', () => {
    const verdict = verifyGenericSignature(
      request({
        'x-casebook-timestamp': at(0),
        'x-casebook-signature': `v1=${hmacSha256Hex('s', `${at(1)}.`, body)}`,
      }),
      ['s'],
    );
    expect(verdict).toMatchObject({ ok: false, problem: expect.stringMatching(/no X-Casebook-Signature/) });
  });

  it("Basic auth's password is what is checked, whatever the user name", () => {
    expect(basicPassword(`Basic ${Buffer.from('am:pa:ss').toString('base64')}`)).toBe('pa:ss');
    expect(basicPassword(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });
});
