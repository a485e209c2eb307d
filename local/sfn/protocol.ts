/** Wire-level pieces of the Step Functions JSON protocol: AWS error names, ARNs, names, paging tokens. */

/** The AWS error names (`__type`) this server answers with. */
export type SfnErrorName =
  | 'ExecutionAlreadyExists'
  | 'ExecutionDoesNotExist'
  | 'StateMachineDoesNotExist'
  | 'InvalidArn'
  | 'InvalidName'
  | 'InvalidExecutionInput'
  | 'InvalidToken'
  | 'TaskDoesNotExist'
  | 'TaskTimedOut'
  | 'InvalidOutput'
  | 'ValidationException'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'ServiceUnavailable'
  | 'InternalFailure';

/** An API error rendered as `{"__type": awsName, "message": message}`, HTTP 400 unless said otherwise. */
export class SfnApiError extends Error {
  readonly awsName: SfnErrorName;
  readonly statusCode: number;

  constructor(awsName: SfnErrorName, message: string, statusCode = 400) {
    super(message);
    this.name = 'SfnApiError';
    this.awsName = awsName;
    this.statusCode = statusCode;
  }
}

/** The AWS partition of a region, so ARNs look right outside the commercial partition too. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** `arn:aws:states:<region>:<account>:stateMachine:<name>`. */
export function stateMachineArnOf(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:states:${region}:${accountId}:stateMachine:${name}`;
}

/** `arn:aws:states:<region>:<account>:execution:<stateMachineName>:<executionName>`. */
export function executionArnOf(region: string, accountId: string, machineName: string, name: string): string {
  return `arn:${partitionOf(region)}:states:${region}:${accountId}:execution:${machineName}:${name}`;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/** Throws AWS's InvalidArn unless `arn` is shaped like a state machine ARN. */
export function assertStateMachineArn(arn: string): void {
  if (!STATE_MACHINE_ARN.test(arn)) {
    throw new SfnApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
  }
}

/** Throws AWS's InvalidArn unless `arn` is shaped like an execution ARN. */
export function assertExecutionArn(arn: string): void {
  if (!EXECUTION_ARN.test(arn)) {
    throw new SfnApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
  }
}

// AWS: no whitespace, brackets < > { } [ ], wildcards ? *, special characters " # % \ ^ | ~ ` $ & , ; : /,
// and no control characters U+0000-001F, U+007F-009F.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what AWS forbids
const FORBIDDEN_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/**
 * Throws unless `name` is a valid execution name: over 80 characters fails the API's length constraint
 * (ValidationException), a character AWS forbids is InvalidName.
 */
export function assertExecutionName(name: string): void {
  if ([...name].length > 80) {
    throw validationError('name', 'Member must have length less than or equal to 80', name);
  }
  if (name.length < 1 || FORBIDDEN_NAME_CHARACTERS.test(name)) {
    throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
  }
}

type Input = Record<string, unknown>;

/** AWS's wording for a request member that fails a constraint of the API model. */
export function validationError(field: string, constraint: string, value?: unknown): SfnApiError {
  // A payload is not echoed back whole.
  const text = value === undefined || value === null ? 'null' : String(value);
  const shown = text.length > 1024 ? '' : text === 'null' ? 'null ' : `'${text}' `;
  return new SfnApiError(
    'ValidationException',
    `1 validation error detected: Value ${shown}at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function typeError(field: string, expected: string): SfnApiError {
  return new SfnApiError('SerializationException', `Expected ${expected} for field '${field}'`);
}

// Payload members (input, output) are limited in UTF-8 bytes, as the quota page states, not characters.
const PAYLOAD_FIELD = 262_144;

/** A required string member, with AWS's length constraints. */
export function requiredString(input: Input, field: string, maxLength: number): string {
  const value = optionalString(input, field, maxLength);
  if (value === undefined) throw validationError(field, 'Member must not be null');
  if (value.length < 1)
    throw validationError(field, 'Member must have length greater than or equal to 1', value);
  return value;
}

/** An optional string member, with AWS's maximum length. */
export function optionalString(input: Input, field: string, maxLength: number): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw typeError(field, 'a string');
  if (value.length > maxLength || (maxLength >= PAYLOAD_FIELD && Buffer.byteLength(value) > maxLength)) {
    throw validationError(field, `Member must have length less than or equal to ${maxLength}`, value);
  }
  return value;
}

/** An optional integer member within [min, max]. */
export function optionalInteger(input: Input, field: string, min: number, max: number): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(field, 'an integer');
  if (value < min)
    throw validationError(field, `Member must have value greater than or equal to ${min}`, value);
  if (value > max) throw validationError(field, `Member must have value less than or equal to ${max}`, value);
  return value;
}

/** An optional boolean member. */
export function optionalBoolean(input: Input, field: string): boolean | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw typeError(field, 'a boolean');
  return value;
}

/** An optional member restricted to an enumeration. */
export function optionalEnum<T extends string>(
  input: Input,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, field, 256);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationError(field, `Member must satisfy enum value set: [${allowed.join(', ')}]`, value);
  }
  return value as T;
}

/** Encodes a paging position as an opaque `nextToken`. */
export function encodePageToken(kind: string, scope: string, position: number): string {
  return Buffer.from(JSON.stringify({ k: kind, s: scope, p: position })).toString('base64url');
}

/** Decodes a `nextToken` made by {@link encodePageToken} for the same listing, or throws AWS's InvalidToken. */
export function decodePageToken(token: string, kind: string, scope: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'k' in parsed &&
      's' in parsed &&
      'p' in parsed &&
      parsed.k === kind &&
      parsed.s === scope &&
      typeof parsed.p === 'number' &&
      Number.isInteger(parsed.p)
    ) {
      return parsed.p;
    }
  } catch {
    // Falls through to the same answer as a well-formed token for another listing.
  }
  throw new SfnApiError('InvalidToken', `Invalid Token: '${token}'`);
}

/** Epoch milliseconds as the protocol's epoch-seconds number. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}
