/**
 * Resolves CloudFormation values of the synthesized templates (Ref, Fn::GetAtt, Fn::Join,
 * Fn::GetStackOutput, …) to plausible values of their kind, as a deployment would see them: a
 * table's name, a state machine's ARN, a secret's ARN, an API's endpoint.
 */
export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';

export type CfnResources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export interface Templates {
  readonly stateless: { readonly Resources: CfnResources };
  readonly stateful: {
    readonly Resources: CfnResources;
    readonly Outputs: Record<string, { Value: unknown }>;
  };
}

const PSEUDO: Record<string, string> = {
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'CasebookStateless',
};

/** A name as the resource would get it: lower case, as S3 requires. */
const nameOf = (logicalId: string) => `casebook-${logicalId.toLowerCase()}`;

/** What `Ref` answers for a resource of `type`. */
function refOf(type: string, logicalId: string, props: Record<string, unknown> = {}): string {
  switch (type) {
    case 'AWS::DynamoDB::Table':
    case 'AWS::S3::Bucket':
    case 'AWS::Lambda::Function':
    case 'AWS::IAM::Role':
    case 'AWS::Logs::LogGroup':
      return nameOf(logicalId);
    // CloudFormation names a state machine `<LogicalId>-<random>`; grants that cannot name its ARN
    // (the functions it invokes) match that pattern.
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${logicalId}-AbCdEf123456`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${nameOf(logicalId)}-AbCdEf`;
    case 'AWS::KMS::Key':
      return '1234abcd-12ab-34cd-56ef-1234567890ab';
    case 'AWS::ApiGatewayV2::Api':
      return 'a1b2c3d4e5';
    case 'AWS::SES::EmailIdentity':
      return String(props.EmailIdentity ?? logicalId);
    default:
      return logicalId;
  }
}

/** What `Fn::GetAtt` answers for `attribute` of a resource of `type`. */
function attOf(type: string, logicalId: string, attribute: string): string {
  const name = nameOf(logicalId);
  if (attribute === 'Arn') {
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${refOf(type, logicalId)}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}:*`;
      case 'AWS::StepFunctions::StateMachine':
        return refOf(type, logicalId);
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
      default:
        return `arn:aws:${type.split('::')[1]?.toLowerCase()}:${REGION}:${ACCOUNT}:${name}`;
    }
  }
  if (attribute === 'ApiEndpoint')
    return `https://${refOf(type, logicalId)}.execute-api.${REGION}.amazonaws.com`;
  if (attribute === 'Name') return type === 'AWS::StepFunctions::StateMachine' ? name : name;
  if (attribute === 'StreamArn')
    return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}/stream/2026-01-01T00:00:00.000`;
  return `${name}.${attribute}`;
}

/** Resolves `value` in the stateless template (its references to the stateful one followed). */
export function resolveIn(
  templates: Templates,
  value: unknown,
  where: 'stateless' | 'stateful' = 'stateless',
): unknown {
  const again = (v: unknown) => resolveIn(templates, v, where);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(again);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length !== 1) return Object.fromEntries(entries.map(([k, v]) => [k, again(v)]));
  const [fn, arg] = entries[0] as [string, unknown];
  // A token of the other stack's resource, resolved outside a cross-stack reference, names it directly.
  const resources = { ...templates.stateful.Resources, ...templates[where].Resources };
  switch (fn) {
    case 'Ref': {
      const id = arg as string;
      if (PSEUDO[id]) return PSEUDO[id];
      const resource = resources[id];
      if (!resource) throw new Error(`Ref to ${id}, which the ${where} template lacks`);
      return refOf(resource.Type, id, resource.Properties);
    }
    case 'Fn::GetAtt': {
      const [id, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
      const resource = resources[id];
      if (!resource) throw new Error(`GetAtt of ${id}, which the ${where} template lacks`);
      return attOf(resource.Type, id, attribute);
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(again(p))).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [number, unknown];
      return (again(list) as unknown[])[Number(again(index))];
    }
    case 'Fn::Split': {
      const [separator, text] = arg as [string, unknown];
      return String(again(text)).split(separator);
    }
    case 'Fn::Sub': {
      const text = typeof arg === 'string' ? arg : (arg as [string])[0];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
        String(name.includes('.') ? again({ 'Fn::GetAtt': name.split('.') }) : again({ Ref: name })),
      );
    }
    case 'Fn::GetStackOutput': {
      const { OutputName } = arg as { OutputName: string };
      const output = templates.stateful.Outputs[OutputName];
      if (!output) throw new Error(`the stateful template has no output ${OutputName}`);
      return resolveIn(templates, output.Value, 'stateful');
    }
    case 'Fn::ImportValue':
      throw new Error(`Fn::ImportValue is not resolved here: ${JSON.stringify(arg)}`);
    default:
      return Object.fromEntries(entries.map(([k, v]) => [k, again(v)]));
  }
}
