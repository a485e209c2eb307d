import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { ENV } from '../../functions/env-names.ts';
import { buildCasebookApp } from './casebook-app.ts';

/** The message of what `build` throws; fails the test if it does not throw. */
function errorOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the app to refuse its configuration');
}

describe('casebook:alertPolicy', () => {
  it("is checked by the functions' own rule at synth, every problem listed", () => {
    const message = errorOf(() =>
      buildCasebookApp({
        'casebook:alertPolicy': {
          defaultSeverity: 'SEV7',
          rules: [{ name: 'gray-case', match: ['team="x"'], world: 'RML2' }],
        },
      }),
    );
    expect(message).toContain('casebook:alertPolicy defaultSeverity must be one of SEV1, SEV2, SEV3, SEV4');
    expect(message).toContain('casebook:alertPolicy rules.0.name is the name of a built-in rule');
  });

  it('refuses a policy too large for a function environment, saying how large', () => {
    const rules = Array.from({ length: 60 }, (_, i) => ({
      name: `rule-${i}`,
      match: [`team="team-number-${i}"`],
      world: 'RML2',
    }));
    expect(errorOf(() => buildCasebookApp({ 'casebook:alertPolicy': { rules } }))).toMatch(
      /casebook:alertPolicy is \d+ bytes as JSON, over the 2048/,
    );
  });

  it('hands a configured policy, as JSON, to the functions that open incidents and to no other', () => {
    const policy = {
      services: { pagerduty: { PX7Q2ZK: 'payments-api' } },
      rules: [{ name: 'batch', match: ['job=~"batch-.*"'], world: 'RML2' }],
    };
    const { stateless } = buildCasebookApp({ 'casebook:alertPolicy': JSON.stringify(policy) });
    const variables = Object.values(Template.fromStack(stateless).findResources('AWS::Lambda::Function')).map(
      (r) =>
        (r as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
          .Variables,
    );
    const withPolicy = variables.filter((v) => ENV.alertPolicy in v);
    // ingest-alert and declare-incident: the two ways an incident opens.
    expect(withPolicy).toHaveLength(2);
    expect(withPolicy).toHaveLength(
      Object.values(FUNCTIONS).filter((f) => (f.needs as { alertPolicy?: boolean }).alertPolicy).length,
    );
    for (const v of withPolicy) expect(JSON.parse(String(v[ENV.alertPolicy]))).toEqual(policy);
  }, 120_000);
});
