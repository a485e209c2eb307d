import { beforeAll, describe, expect, it } from 'vitest';
import { checkTemplate, formatProblems, serviceSpec } from '../../lib/template-schema.ts';
import { synthCasebookApp } from './casebook-app.ts';

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

let templates: Record<string, TemplateJson>;

beforeAll(() => {
  serviceSpec();
  const { statefulTemplate, statelessTemplate } = synthCasebookApp();
  templates = {
    CasebookStateful: statefulTemplate.toJSON() as TemplateJson,
    CasebookStateless: statelessTemplate.toJSON() as TemplateJson,
  };
}, 120_000);

/** A copy of `stack`'s template with the first resource of `type` changed by `change`. */
function mutated(
  stack: string,
  type: string,
  change: (props: Record<string, unknown>) => void,
): { template: TemplateJson; logicalId: string } {
  const template = structuredClone(templates[stack]) as TemplateJson;
  const entry = Object.entries(template.Resources).find(([, r]) => r.Type === type);
  if (!entry) throw new Error(`${stack} has no ${type}`);
  const [logicalId, resource] = entry;
  resource.Properties ??= {};
  change(resource.Properties);
  return { template, logicalId };
}

function messages(template: TemplateJson): string[] {
  return formatProblems(template, checkTemplate(template));
}

describe("synthesized templates against CloudFormation's resource schemas", () => {
  it.each(['CasebookStateful', 'CasebookStateless'])('%s: every resource conforms', (stack) => {
    const template = templates[stack] as TemplateJson;
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    // The checker must have looked at real resources, not an empty template.
    expect(types.size).toBeGreaterThan(3);
    expect(messages(template)).toEqual([]);
  });

  it('names a misspelt property', () => {
    const { template, logicalId } = mutated('CasebookStateful', 'AWS::DynamoDB::Table', (p) => {
      p.BilingMode = p.BillingMode;
      delete p.BillingMode;
    });
    const found = messages(template);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(`^${logicalId} \\(AWS::DynamoDB::Table\\): BilingMode: unknown property`),
    );
  });

  it('names a misspelt property inside a nested type', () => {
    const { template } = mutated('CasebookStateless', 'AWS::Lambda::Function', (p) => {
      const code = p.Code as Record<string, unknown>;
      code.S3Kee = code.S3Key;
      delete code.S3Key;
    });
    expect(messages(template)).toEqual([expect.stringMatching(/Code\.S3Kee: unknown property/)]);
  });

  it('names a wrong type', () => {
    const { template } = mutated('CasebookStateless', 'AWS::Lambda::Function', (p) => {
      p.MemorySize = { megabytes: 512 };
    });
    expect(messages(template)).toEqual([
      expect.stringMatching(/MemorySize: expected integer, got an object/),
    ]);
  });

  it('names a missing required property', () => {
    const { template } = mutated('CasebookStateless', 'AWS::Lambda::Function', (p) => {
      delete p.Role;
    });
    expect(messages(template)).toEqual([expect.stringMatching(/Role: missing required property/)]);
  });

  it('names a value outside an enum', () => {
    const { template } = mutated('CasebookStateful', 'AWS::KMS::Key', (p) => {
      p.KeySpec = 'RSA_1024';
    });
    expect(messages(template)).toEqual([
      expect.stringMatching(/KeySpec: "RSA_1024" is not one of .*SYMMETRIC_DEFAULT/),
    ]);
  });

  it('names an unknown resource type', () => {
    const template = structuredClone(templates.CasebookStateful) as TemplateJson;
    template.Resources.Typo = { Type: 'AWS::S3::Buckets', Properties: {} };
    expect(messages(template)).toEqual([
      'Typo (AWS::S3::Buckets): Type: unknown resource type AWS::S3::Buckets',
    ]);
  });
});
