import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, classifyAlert } from '../../functions/domain/alert.ts';
import type { AlertPolicy } from '../../functions/domain/alert-policy.ts';
import { classifyWithPolicy, parseAlertPolicy } from '../../functions/domain/alert-policy.ts';
import { CATEGORY_LABEL } from '../../functions/domain/labels.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import type { Rml3Category, Severity, World } from '../../functions/domain/vocabulary.ts';
import { RML3_CATEGORIES } from '../../functions/domain/vocabulary.ts';

/**
 * Triage as it was before it became a policy, kept word for word: the default policy must decide
 * exactly as this did, reason included.
 */
function triageBeforePolicy(labels: Readonly<Record<string, string>>) {
  const words: ReadonlyArray<[RegExp, Severity]> = [
    [/^(critical|crit|page|p1|emergency|fatal)$/, 'SEV1'],
    [/^(high|error|major|p2)$/, 'SEV2'],
    [/^(warning|warn|medium|minor|p3)$/, 'SEV3'],
    [/^(info|informational|low|none|p4)$/, 'SEV4'],
  ];
  const severityOf = (): { severity: Severity; fromLabel: boolean } => {
    const raw = (labels.severity ?? labels.priority ?? '').trim().toLowerCase();
    const sev = /^sev-?([1-4])$/.exec(raw);
    if (sev) return { severity: `SEV${sev[1]}` as Severity, fromLabel: true };
    for (const [pattern, severity] of words) if (pattern.test(raw)) return { severity, fromLabel: true };
    return { severity: 'SEV2', fromLabel: false };
  };
  const worldOf = (raw: string | undefined): World | undefined => {
    const m = /^rml-?([123])$/.exec((raw ?? '').trim().toLowerCase());
    return m ? (`RML${m[1]}` as World) : undefined;
  };
  const categoriesOf = (raw: string | undefined): Rml3Category[] => {
    const w = (raw ?? '')
      .toLowerCase()
      .split(/[\s,;|]+/)
      .map((x) => x.replaceAll('-', '_'))
      .filter(Boolean);
    return RML3_CATEGORIES.filter((c) => w.includes(c));
  };
  const { severity, fromLabel } = severityOf();
  const sevNote = fromLabel ? '' : ' Severity defaulted to SEV2: no recognised severity given.';
  const categories = categoriesOf(labels.category ?? labels.rml3_category);
  const labelled = worldOf(labels.world ?? labels.rml_world);
  if (categories.length > 0) {
    return {
      world: 'RML3',
      categories,
      severity,
      isIncident: true,
      reason: `Default-to-RML3 category: ${categories.map((c) => CATEGORY_LABEL[c]).join(', ')}.${sevNote}`,
    };
  }
  if (labelled === 'RML3') {
    return {
      world: 'RML3',
      categories,
      severity,
      isIncident: true,
      reason: `Labelled world=RML3.${sevNote}`,
    };
  }
  if (labelled) {
    return {
      world: labelled,
      categories,
      severity,
      isIncident: false,
      reason: `Labelled world=${labelled} with no default-to-RML3 category: not a History World incident.`,
    };
  }
  return {
    world: 'RML3',
    categories,
    severity,
    isIncident: true,
    reason: `Gray case (no world label): treated as RML3 until downscoped.${sevNote}`,
  };
}

const sameAsBefore = (labels: Readonly<Record<string, string>>) => {
  const { world, categories, severity, isIncident, reason } = classify(labels);
  expect({ world, categories, severity, isIncident, reason }).toEqual(triageBeforePolicy(labels));
};

const FIXTURES = join(import.meta.dirname, '../fixtures');

function jsonFixtures(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFixtures(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );
}

/** Every label set a fixture holds, whatever the source: anything under a `labels`-like key. */
function labelSets(value: unknown, out: Record<string, string>[] = []): Record<string, string>[] {
  if (Array.isArray(value)) for (const v of value) labelSets(v, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const isMap =
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.values(v).every((x) => typeof x === 'string');
      if (/labels$/i.test(key) && isMap) out.push(v as Record<string, string>);
      else labelSets(v, out);
    }
  }
  return out;
}

const policy = (raw: unknown): AlertPolicy => {
  const result = parseAlertPolicy(raw);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.policy;
};

describe('the classification policy', () => {
  it('decides every fixture exactly as triage did before it was a policy', () => {
    const files = jsonFixtures(FIXTURES);
    const sets = files.flatMap((f) => labelSets(JSON.parse(readFileSync(f, 'utf8'))));
    expect(sets.length).toBeGreaterThan(3);
    for (const labels of sets) sameAsBefore(labels);
    const webhooks = jsonFixtures(join(FIXTURES, 'alertmanager'));
    expect(webhooks.length).toBeGreaterThan(0);
    for (const f of webhooks) {
      const alert = parseAlertmanagerWebhook(JSON.parse(readFileSync(f, 'utf8')));
      const c = classifyAlert(alert);
      expect(c).toMatchObject(triageBeforePolicy(alert.labels));
      expect(c.rule).toBe('default-to-rml3-category');
    }
  });

  it('decides 5,000 generated label sets exactly as triage did before it was a policy', () => {
    const vocab = [
      ...['critical', 'CRIT', ' page ', 'P1', 'emergency', 'fatal', 'high', 'error', 'major', 'p2'],
      ...['warning', 'warn', 'medium', 'Minor', 'p3', 'info', 'informational', 'low', 'none', 'p4'],
      ...['sev1', 'SEV-2', 'sev3', 'sev-4', 'sev5', 'sev-0', '', ' ', 'rml3', 'RML-1', 'rml2', 'rml-4'],
      ...['financial_discrepancy', 'External-Misdelivery', 'regulatory_breach, security-suspicion'],
      ...['other|financial-discrepancy', 'security_suspicion;x', 'toString', 'constructor'],
    ];
    const names = ['severity', 'priority', 'world', 'rml_world', 'category', 'rml3_category', 'alertname'];
    const labels = fc.dictionary(
      fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom(...vocab), fc.string({ maxLength: 12 })),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(labels, (l) => sameAsBefore(l)),
      { numRuns: 5000 },
    );
  });

  it('names the built-in rule that decided', () => {
    expect(classify({ category: 'financial_discrepancy', world: 'RML2' }).rule).toBe(
      'default-to-rml3-category',
    );
    expect(classify({ world: 'RML2' }).rule).toBe('world-label');
    expect(classify({ alertname: 'x' }).rule).toBe('gray-case');
  });

  it('lets the first matching rule set world, severity, categories, assets and product area, and names it', () => {
    const p = policy({
      rules: [
        { name: 'batch-is-rml2', match: ['job=~"batch-.*"', 'env!="prod"'], world: 'RML2' },
        {
          name: 'ledger',
          match: ['service="ledger"'],
          categories: ['financial_discrepancy'],
          severity: 'SEV1',
          assets: ['ledger-db', 'ledger-db'],
          productArea: 'payments',
        },
        { name: 'never-reached', match: ['service="ledger"'], world: 'RML1' },
      ],
    });
    const batch = classifyWithPolicy(p, { source: 'alertmanager', labels: { job: 'batch-nightly' } });
    expect(batch).toMatchObject({ world: 'RML2', isIncident: false, rule: 'batch-is-rml2' });
    expect(batch.reason).toBe(
      'World RML2 with no default-to-RML3 category: not a History World incident. Decided by policy rule batch-is-rml2.',
    );
    // A matcher on a label the alert lacks reads it as empty.
    expect(classifyWithPolicy(p, { source: 'x', labels: { job: 'batch-1', env: 'prod' } }).rule).toBe(
      'gray-case',
    );
    const ledger = classifyWithPolicy(p, {
      source: 'alertmanager',
      labels: { service: 'ledger', world: 'RML2' },
    });
    expect(ledger).toMatchObject({
      world: 'RML3',
      isIncident: true,
      severity: 'SEV1',
      categories: ['financial_discrepancy'],
      assets: ['ledger-db'],
      productArea: 'payments',
      rule: 'ledger',
      matchedRule: 'ledger',
    });
    expect(ledger.reason).toBe(
      'Default-to-RML3 category: Financial discrepancy. Decided by policy rule ledger.',
    );
  });

  it('keeps a default-to-RML3 category in RML3 whatever a rule says of the world, naming the label', () => {
    const p = policy({ rules: [{ name: 'quiet', match: ['team="ops"'], world: 'RML1', severity: 'SEV4' }] });
    const c = classifyWithPolicy(p, {
      source: 'alertmanager',
      labels: { team: 'ops', category: 'regulatory-breach' },
    });
    expect(c).toMatchObject({
      world: 'RML3',
      severity: 'SEV4',
      rule: 'default-to-rml3-category',
      matchedRule: 'quiet',
    });
  });

  it('maps a source service to ours, and matches on it where the alert has no such label', () => {
    const p = policy({
      services: { pagerduty: { PX7Q2ZK: 'payments-api' } },
      rules: [
        {
          name: 'payments',
          source: 'pagerduty',
          match: ['service="payments-api"'],
          categories: ['financial_discrepancy'],
        },
      ],
    });
    const pd = classifyWithPolicy(p, { source: 'pagerduty', labels: {}, service: 'PX7Q2ZK' });
    expect(pd).toMatchObject({ service: 'payments-api', rule: 'payments', world: 'RML3' });
    // The mapping is per source: Alertmanager's PX7Q2ZK is nobody's payments-api, and the rule is PagerDuty's.
    const am = classifyWithPolicy(p, { source: 'alertmanager', labels: {}, service: 'PX7Q2ZK' });
    expect(am).toMatchObject({ service: 'PX7Q2ZK', rule: 'gray-case' });
    expect(classifyWithPolicy(p, { source: 'pagerduty', labels: {}, service: 'payments-api' }).rule).toBe(
      'payments',
    );
    // The alert's own service, mapped, is what a rule sees, before a label of that name.
    const labelled = classifyWithPolicy(p, {
      source: 'pagerduty',
      labels: { service: 'x' },
      service: 'PX7Q2ZK',
    });
    expect(labelled.rule).toBe('payments');
  });

  it('reads the labels and severity words it is told to', () => {
    const p = policy({
      labels: { severity: ['urgency'], world: ['realm'] },
      severities: { SEV1: ['p0'] },
      defaultSeverity: 'SEV3',
    });
    expect(classifyWithPolicy(p, { source: 'x', labels: { urgency: 'P0', realm: 'rml3' } })).toMatchObject({
      severity: 'SEV1',
      world: 'RML3',
      rule: 'world-label',
    });
    // Words a list replaces are no longer SEV1's; the default is the configured one, said so.
    const c = classifyWithPolicy(p, { source: 'x', labels: { urgency: 'critical', severity: 'SEV1' } });
    expect(c.severity).toBe('SEV3');
    expect(c.reason).toBe(
      'Gray case (no world label): treated as RML3 until downscoped. Severity defaulted to SEV3: no recognised severity given.',
    );
  });

  it('lists every problem of a broken policy at once, each by its path', () => {
    const result = parseAlertPolicy({
      severities: { SEV1: ['critical'], SEV2: ['critical'] },
      defaultSeverity: 'SEV9',
      rules: [
        { name: 'a', match: ['team=~"("'], world: 'RML3' },
        { name: 'a', match: ['not a matcher'], severity: 'SEV1' },
        { name: 'gray-case', match: ['x="y"'], world: 'RML4' },
        { name: 'b', match: ['x="y"'] },
      ],
      services: { PagerDuty: {} },
      extra: true,
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^defaultSeverity must be one of SEV1, SEV2, SEV3, SEV4$/),
        expect.stringMatching(/^rules\.0\.match\.0 has a regex that does not compile/),
        expect.stringMatching(/^rules\.1\.match\.0 is not a matcher/),
        expect.stringMatching(/^rules\.2\.name is the name of a built-in rule$/),
        expect.stringMatching(/^rules\.2\.world must be one of RML1, RML2, RML3$/),
        expect.stringMatching(/^rules\.3 must set at least one of/),
        expect.stringMatching(/^services\.PagerDuty must be a source name/),
        expect.stringMatching(/^\(policy\) .*extra/),
        'severities.SEV2 names "critical", which SEV1 names too',
        'rules.1.name names a twice',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(10);
  });

  it('gives the default policy one version, and another policy another', () => {
    expect(policy(undefined).version).toBe(policy({}).version);
    expect(policy({ defaultSeverity: 'SEV1' }).version).not.toBe(policy({}).version);
  });
});
