/**
 * The service integrations the local server runs: what a Task state's `Resource` does, and how its
 * events and results look. Adding one is adding an entry to INTEGRATIONS (see README.md).
 */
import { randomUUID } from 'node:crypto';
import { DataFlowError } from './data-flow.ts';
import type { JsonValue } from './history.ts';

/** What an integration may call: the server's in-process Lambda invoke. */
export interface TaskServices {
  /** Throws an Error whose `name` is the Lambda errorType on a function error. */
  invokeFunction(functionNameOrArn: string, payload: unknown): Promise<unknown>;
}

/** How the server runs one kind of Task resource. */
export interface TaskIntegration {
  /** `resourceType` of the Task* events (`lambda`). */
  readonly resourceType: string;
  /** `resource` of the Task* events (`invoke`, `invoke.waitForTaskToken`), or the ARN for Lambda ARNs. */
  readonly resource: string;
  /** `task`: Task* events; `lambda-function`: the LambdaFunction* events of a Lambda ARN resource. */
  readonly events: 'task' | 'lambda-function';
  /** `.waitForTaskToken`: the call is a submission; SendTaskSuccess/SendTaskFailure complete the task. */
  readonly callback: boolean;
  /** Rejects parameters the service would refuse before anything is called (a States.Runtime). */
  check(parameters: JsonValue): void;
  /** Calls the service; for a callback integration the answer is the TaskSubmitted output. */
  invoke(parameters: JsonValue, services: TaskServices): Promise<JsonValue>;
}

/** The Resources the server can run, for messages about the ones it cannot. */
export const SUPPORTED_RESOURCES =
  'arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken, Lambda function ARNs';

function lambdaInvoke(resource: 'invoke' | 'invoke.waitForTaskToken'): TaskIntegration {
  return {
    resourceType: 'lambda',
    resource,
    events: 'task',
    callback: resource === 'invoke.waitForTaskToken',
    check: (parameters) => {
      lambdaTarget(parameters);
    },
    invoke: async (parameters, services) => {
      const { functionName, payload } = lambdaTarget(parameters);
      return lambdaInvokeResult(toJsonValue(await services.invokeFunction(functionName, payload)));
    },
  };
}

function lambdaFunction(arn: string): TaskIntegration {
  return {
    resourceType: 'lambda',
    resource: arn,
    events: 'lambda-function',
    callback: false,
    check: () => {},
    invoke: async (input, services) => toJsonValue(await services.invokeFunction(arn, input)),
  };
}

const INTEGRATIONS: readonly { match: RegExp; create: (resource: string) => TaskIntegration }[] = [
  { match: /^arn:aws[a-z-]*:states:::lambda:invoke$/, create: () => lambdaInvoke('invoke') },
  {
    match: /^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/,
    create: () => lambdaInvoke('invoke.waitForTaskToken'),
  },
  {
    match: /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:]+(:[^:]+)?$/,
    create: (resource) => lambdaFunction(resource),
  },
];

/** The integration that runs `resource`, or undefined when the server has none. */
export function integrationFor(resource: string): TaskIntegration | undefined {
  return INTEGRATIONS.find((entry) => entry.match.test(resource))?.create(resource);
}

interface LambdaTarget {
  functionName: string;
  payload: JsonValue;
}

function lambdaTarget(parameters: JsonValue): LambdaTarget {
  const record =
    parameters !== null && typeof parameters === 'object' && !Array.isArray(parameters) ? parameters : {};
  if (typeof record.FunctionName !== 'string') {
    throw new DataFlowError('States.Runtime', 'lambda:invoke needs a string FunctionName in its Parameters.');
  }
  return { functionName: record.FunctionName, payload: record.Payload === undefined ? {} : record.Payload };
}

/** Round-trips a handler's result through JSON, as the Lambda service does (`undefined` becomes `null`). */
export function toJsonValue(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

/** The result of `arn:aws:states:::lambda:invoke`, shaped like AWS's Lambda Invoke response. */
export function lambdaInvokeResult(payload: JsonValue): JsonValue {
  const requestId = randomUUID();
  const date = new Date().toUTCString();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-RequestId': [requestId],
        'Content-Type': ['application/json'],
        Date: [date],
      },
      HttpHeaders: {
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-RequestId': requestId,
        'Content-Type': 'application/json',
        Date: date,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

/**
 * A function error as Step Functions reports it: error = errorType, cause = the Lambda error JSON.
 * A function that failed without an errorType (a timeout, say) is `Lambda.Unknown`, as on AWS.
 */
export function lambdaFailure(thrown: unknown): { error: string; cause: string } {
  const error = thrown instanceof Error ? thrown : undefined;
  const unhandled = (error as { unhandledPayload?: unknown } | undefined)?.unhandledPayload;
  if (unhandled !== undefined) {
    return {
      error: 'Lambda.Unknown',
      cause: `The cause could not be determined because Lambda did not return an error type. Returned payload: ${JSON.stringify(unhandled)}`,
    };
  }
  const errorType = error?.name || 'Error';
  const errorMessage = error ? error.message : String(thrown);
  const trace = error?.stack?.split('\n') ?? [];
  return { error: errorType, cause: JSON.stringify({ errorMessage, errorType, trace }) };
}
