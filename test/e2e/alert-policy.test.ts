/**
 * Triage by policy on the local stack: the classification policy, configured as an operator would
 * in CASEBOOK_ALERT_POLICY, decides what Alertmanager's alerts open, over HTTP; the rule that
 * decided is on the incident's timeline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/env-names.ts';
import type { LocalStack } from '../../local/stack.ts';
import { freePorts, getCase, postAlert, start, tempDataDir } from '../support/local-stack.ts';

const sample = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8'),
) as { alerts: { labels: Record<string, string> }[]; commonLabels: Record<string, string> };

const POLICY = {
  rules: [
    { name: 'batch-jobs', match: ['job=~"batch-.*"'], world: 'RML2' },
    {
      name: 'ledger-drift',
      match: ['alertname="LedgerDrift"'],
      categories: ['financial_discrepancy'],
      severity: 'SEV1',
      assets: ['ledger-db'],
      productArea: 'ledger',
    },
  ],
};

/** The sample as another alert group: its own name and labels, none of the sample's world or category. */
function alert(name: string, labels: Record<string, string>): string {
  const { category: _c, world: _w, ...rest } = sample.commonLabels;
  const merged = { ...rest, alertname: name, ...labels };
  return JSON.stringify({
    ...sample,
    groupKey: `{}:{alertname="${name}"}`,
    alerts: sample.alerts.map((a, i) => ({ ...a, labels: merged, fingerprint: `${name}-${i}` })),
    groupLabels: { alertname: name },
    commonLabels: merged,
  });
}

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts(), {
    environment: { [ENV.alertPolicy]: JSON.stringify(POLICY) },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  delete process.env[ENV.alertPolicy];
});

describe('the classification policy on the local stack', () => {
  it('opens by the rule that matched, and names it on the timeline', async () => {
    const res = await postAlert(stack, alert('LedgerDrift', { severity: 'info' }));
    expect(res.status).toBe(201);
    const { incidentId } = (await res.json()) as { incidentId: string };
    const { incident, timeline } = await getCase(stack, incidentId);
    expect(incident).toMatchObject({
      world: 'RML3',
      severity: 'SEV1',
      categories: ['financial_discrepancy'],
      assets: ['ledger-db'],
      productArea: 'ledger',
    });
    const detection = (
      timeline as { type: string; summary: string; detail?: Record<string, unknown> }[]
    ).find((e) => e.type === 'detection');
    expect(detection?.summary).toContain('Decided by policy rule ledger-drift.');
    expect(detection?.detail).toMatchObject({ rule: 'ledger-drift', assets: ['ledger-db'] });
  });

  it('keeps what a rule puts in RML2 out of the History World: 202, no incident', async () => {
    const res = await postAlert(stack, alert('NightlyExportSlow', { job: 'batch-export' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ outcome: 'not-an-incident', world: 'RML2' });
  });

  it('decides what no rule matches as triage always has', async () => {
    const res = await postAlert(stack, alert('CheckoutLatency', { world: 'rml-1' }));
    expect(res.status).toBe(202);
    const sampleRes = await postAlert(stack, JSON.stringify(sample));
    expect(sampleRes.status).toBe(201);
    const { incidentId } = (await sampleRes.json()) as { incidentId: string };
    const detection = (
      (await getCase(stack, incidentId)).timeline as { type: string; detail?: Record<string, unknown> }[]
    ).find((e) => e.type === 'detection');
    expect(detection?.detail).toMatchObject({ rule: 'default-to-rml3-category' });
  });
});
