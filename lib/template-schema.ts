/**
 * Checks a synthesized CloudFormation template against CloudFormation's resource schemas as
 * `@aws-cdk/aws-service-spec` carries them (the same database CDK's L1 constructs are generated
 * from), so a misspelt property, a wrong type, a missing required property or a value outside an
 * enum is found offline instead of in a customer's account at deploy time.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { Property, PropertyType, SpecDatabase } from '@aws-cdk/service-spec-types';

/** One problem, named by the resource's logical id and the path to the property. */
export interface SchemaProblem {
  readonly resource: string;
  readonly path: string;
  readonly message: string;
}

interface TemplateResource {
  readonly Type?: unknown;
  readonly Properties?: unknown;
}

let cached: SpecDatabase | undefined;

/** The database takes about a second to load; every template in a process shares it. */
export function serviceSpec(): SpecDatabase {
  cached ??= loadAwsServiceSpecSync();
  return cached;
}

const INTRINSICS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::Sub',
  'Fn::Select',
  'Fn::Split',
  'Fn::If',
  'Fn::ImportValue',
  // CDK's weak cross-stack references read the other stack's output at deploy time.
  'Fn::GetStackOutput',
  'Fn::Transform',
  'Fn::FindInMap',
  'Fn::GetAZs',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::Length',
  'Fn::ToJsonString',
]);

// Whatever an intrinsic resolves to is known only at deploy time; CloudFormation checks it then.
function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && INTRINSICS.has(keys[0] as string);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function typeName(db: SpecDatabase, type: PropertyType): string {
  switch (type.type) {
    case 'ref':
      return db.get('typeDefinition', type.reference).name;
    case 'array':
      return `list of ${typeName(db, type.element)}`;
    case 'map':
      return `map of ${typeName(db, type.element)}`;
    case 'union':
      return type.types.map((t) => typeName(db, t)).join(' | ');
    default:
      return type.type;
  }
}

/** Problems of `value` against `type`, at `path`; empty when it conforms. */
function checkValue(db: SpecDatabase, type: PropertyType, value: unknown, path: string): string[] {
  if (isIntrinsic(value)) return [];
  const wrong = () => [`${path}: expected ${typeName(db, type)}, got ${describe(value)}`];
  switch (type.type) {
    case 'string': {
      // CloudFormation turns a scalar into its string form, as it does for numeric ids and flags.
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
        return wrong();
      if (type.allowedValues && !type.allowedValues.includes(String(value))) {
        return [`${path}: ${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`];
      }
      return [];
    }
    case 'number':
    case 'integer': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) return wrong();
      if (type.type === 'integer' && !Number.isInteger(n)) return wrong();
      if (type.type === 'integer' && type.allowedValues && !type.allowedValues.includes(n)) {
        return [`${path}: ${n} is not one of ${type.allowedValues.join(', ')}`];
      }
      return [];
    }
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : wrong();
    case 'date-time':
      return typeof value === 'string' ? [] : wrong();
    case 'json':
      return [];
    case 'null':
      return value === null ? [] : wrong();
    case 'tag': {
      if (!isPlainObject(value)) return wrong();
      return checkObject(
        db,
        {
          Key: { type: { type: 'string' }, required: true },
          Value: { type: { type: 'string' }, required: true },
        },
        value,
        path,
      );
    }
    case 'array':
      if (!Array.isArray(value)) return wrong();
      return value.flatMap((v, i) => checkValue(db, type.element, v, `${path}[${i}]`));
    case 'map':
      if (!isPlainObject(value)) return wrong();
      return Object.entries(value).flatMap(([k, v]) => checkValue(db, type.element, v, `${path}.${k}`));
    case 'ref': {
      if (!isPlainObject(value)) return wrong();
      return checkObject(db, db.get('typeDefinition', type.reference).properties, value, path);
    }
    case 'union': {
      const attempts = type.types.map((t) => checkValue(db, t, value, path));
      return attempts.some((a) => a.length === 0)
        ? []
        : (attempts.sort((a, b) => a.length - b.length)[0] ?? []);
    }
  }
}

/** A property conforms if it fits its current type or one it had before (CDK accepts both). */
function checkProperty(db: SpecDatabase, property: Property, value: unknown, path: string): string[] {
  const candidates = [property.type, ...(property.previousTypes ?? [])];
  let best: string[] | undefined;
  for (const t of candidates) {
    const problems = checkValue(db, t, value, path);
    if (problems.length === 0) return [];
    if (!best || problems.length < best.length) best = problems;
  }
  return best ?? [];
}

function checkObject(
  db: SpecDatabase,
  properties: Record<string, Property>,
  value: Record<string, unknown>,
  path: string,
): string[] {
  const problems: string[] = [];
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const [name, v] of Object.entries(value)) {
    const property = properties[name];
    if (!property) {
      problems.push(`${at(name)}: unknown property (known: ${Object.keys(properties).sort().join(', ')})`);
      continue;
    }
    problems.push(...checkProperty(db, property, v, at(name)));
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && !(name in value)) problems.push(`${at(name)}: missing required property`);
  }
  return problems;
}

/** Every problem of every resource in `template` (a template's JSON, as synthesized). */
export function checkTemplate(template: unknown, db: SpecDatabase = serviceSpec()): SchemaProblem[] {
  const resources = (
    isPlainObject(template) && isPlainObject(template.Resources) ? template.Resources : {}
  ) as Record<string, TemplateResource>;
  const problems: SchemaProblem[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const type = resource.Type;
    if (typeof type !== 'string') {
      problems.push({ resource: logicalId, path: 'Type', message: 'Type: missing' });
      continue;
    }
    // A custom resource's properties are its provider's business, not CloudFormation's.
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') continue;
    const spec = db.lookup('resource', 'cloudFormationType', 'equals', type);
    if (spec.length === 0) {
      problems.push({ resource: logicalId, path: 'Type', message: `Type: unknown resource type ${type}` });
      continue;
    }
    const props = resource.Properties ?? {};
    if (!isPlainObject(props)) {
      problems.push({ resource: logicalId, path: 'Properties', message: `Properties: expected an object` });
      continue;
    }
    for (const message of checkObject(db, spec.only().properties, props, '')) {
      problems.push({ resource: logicalId, path: message.slice(0, message.indexOf(':')), message });
    }
  }
  return problems;
}

/** Problems as lines a reader can act on: `<logical id> (<type>): <path>: <what is wrong>`. */
export function formatProblems(template: unknown, problems: readonly SchemaProblem[]): string[] {
  const resources = (
    isPlainObject(template) && isPlainObject(template.Resources) ? template.Resources : {}
  ) as Record<string, TemplateResource>;
  return problems.map((p) => `${p.resource} (${String(resources[p.resource]?.Type)}): ${p.message}`);
}
