import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.ts';
import { alertPolicyConfig } from '../../functions/adapters/rules-config.ts';
import type { AlertPolicy } from '../../functions/domain/alert-policy.ts';
import { ingestHandler, ingestWorld } from '../support/ingest.ts';
import { ALERTMANAGER_PAYLOAD, postWebhook } from '../support/webhooks.ts';

const sample = JSON.parse(ALERTMANAGER_PAYLOAD) as {
  alerts: { labels: Record<string, string> }[];
  commonLabels: Record<string, string>;
};
const world = ingestWorld();
const { sfn } = world;

/** The sample with its category and world labels replaced: the labels alone would make it a gray case. */
function alertWith(labels: Record<string, string>): string {
  const { category: _c, world: _w, ...rest } = sample.commonLabels;
  const merged = { ...rest, ...labels };
  return JSON.stringify({
    ...sample,
    alerts: sample.alerts.map((a) => ({ ...a, labels: merged })),
    commonLabels: merged,
  });
}

const POLICY = {
  rules: [
    { name: 'batch-jobs', match: ['job=~"batch-.*"'], world: 'RML2' },
    {
      name: 'payments-money',
      match: ['service="payments-api"', 'severity=~"critical|page"'],
      categories: ['financial_discrepancy'],
      assets: ['payments-db'],
      productArea: 'billing',
    },
  ],
};

async function setup(alertPolicy?: AlertPolicy) {
  const { handler, store, written } = await ingestHandler(world, alertPolicy ? { alertPolicy } : {});
  return { store, post: (body: string) => postWebhook(handler, body), written };
}

const configured = () =>
  loadConfig([alertPolicyConfig], { CASEBOOK_ALERT_POLICY: JSON.stringify(POLICY) }).alertPolicy;

describe('CASEBOOK_ALERT_POLICY', () => {
  it('is optional: without it alerts are triaged by the default policy', () => {
    const { alertPolicy } = loadConfig([alertPolicyConfig], {});
    expect(alertPolicy.rules).toEqual([]);
    expect(alertPolicy.labels.severity).toEqual(['severity', 'priority']);
  });

  it('fails at init naming every problem under the variable, in one error', () => {
    const broken = {
      defaultSeverity: 'SEV0',
      rules: [
        { name: 'x', match: ['team=~"["'], world: 'RML2' },
        { name: 'y', match: ['a="b"'] },
      ],
    };
    let message = '';
    try {
      loadConfig([alertPolicyConfig], { CASEBOOK_ALERT_POLICY: JSON.stringify(broken) });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Casebook configuration is invalid: /);
    expect(message).toContain('CASEBOOK_ALERT_POLICY defaultSeverity must be one of SEV1, SEV2, SEV3, SEV4');
    expect(message).toContain('CASEBOOK_ALERT_POLICY rules.0.match.0 has a regex that does not compile');
    expect(message).toContain('CASEBOOK_ALERT_POLICY rules.1 must set at least one of');
    expect(() => loadConfig([alertPolicyConfig], { CASEBOOK_ALERT_POLICY: '{rules:' })).toThrow(
      'CASEBOOK_ALERT_POLICY must be JSON',
    );
  });
});

describe('the rule that decided, on the timeline', () => {
  it('opens by a configured rule: the detection names it, and the incident keeps its product area and assets', async () => {
    const { post, store } = await setup(configured());
    const res = await post(alertWith({ severity: 'critical' }));
    expect(res.statusCode).toBe(201);
    const incident = await store.getIncident('INC-2026-0001');
    expect(incident).toMatchObject({
      world: 'RML3',
      categories: ['financial_discrepancy'],
      productArea: 'billing',
      assets: ['payments-db'],
    });
    const detection = (await store.listTimeline('INC-2026-0001')).find((e) => e.type === 'detection');
    expect(detection?.summary).toMatch(
      /Default-to-RML3 category: .*\. Decided by policy rule payments-money\.$/,
    );
    expect(detection?.detail).toMatchObject({
      rule: 'payments-money',
      assets: ['payments-db'],
      productArea: 'billing',
      policyVersion: configured().version,
    });
  });

  it('keeps an alert a rule puts in RML2 out of the History World, writing nothing', async () => {
    const { post, written } = await setup(configured());
    const before = await written();
    const res = await post(alertWith({ job: 'batch-nightly', severity: 'warning' }));
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({ outcome: 'not-an-incident', world: 'RML2' });
    expect(await written()).toBe(before);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('names the built-in rule when no policy is configured, as triage always decided', async () => {
    const { post, store } = await setup();
    expect((await post(JSON.stringify(sample))).statusCode).toBe(201);
    const detection = (await store.listTimeline('INC-2026-0001')).find((e) => e.type === 'detection');
    expect(detection?.detail).toMatchObject({ rule: 'default-to-rml3-category' });
    expect(detection?.detail).not.toHaveProperty('assets');
    expect(detection?.summary).not.toContain('policy rule');
  });
});
