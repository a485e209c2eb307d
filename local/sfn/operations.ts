import { randomUUID } from 'node:crypto';
import { PAYLOAD_MAX_BYTES, type PreparedMachine } from './execution-run.ts';
import type { Executions } from './executions.ts';
import { type JsonValue, renderEvent } from './history.ts';
import {
  assertExecutionArn,
  assertExecutionName,
  assertStateMachineArn,
  decodePageToken,
  encodePageToken,
  epochSeconds,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requiredString,
  SfnApiError,
} from './protocol.ts';
import type { ExecutionRecord, ExecutionStatus } from './store.ts';

/** One API operation: the request's JSON members in, the response's JSON members out. */
export type Operation = (input: Record<string, unknown>) => unknown;

// AWS's limits, in the units the API reference gives them.
const ARN_MAX = 256;
const TOKEN_MAX = 2048;
const NEXT_TOKEN_MAX = 1024;
const ERROR_MAX = 256;
const CAUSE_MAX = 32_768;
const DEFAULT_PAGE = 100;

/** The fields DescribeExecution and ListExecutions share. */
function executionSummary(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    stopDate: record.stopDate === undefined ? undefined : epochSeconds(record.stopDate),
  };
}
const STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** The Step Functions operations the local server answers, by `X-Amz-Target` operation name. */
export function createOperations(
  machines: readonly PreparedMachine[],
  executions: Executions,
): Map<string, Operation> {
  const machineOf = (arn: string): PreparedMachine => {
    assertStateMachineArn(arn);
    const machine = machines.find((candidate) => candidate.arn === arn);
    if (!machine) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  };
  const executionOf = (input: Record<string, unknown>): ExecutionRecord => {
    const arn = requiredString(input, 'executionArn', ARN_MAX);
    assertExecutionArn(arn);
    return executions.get(arn);
  };
  const pageSize = (input: Record<string, unknown>): number =>
    optionalInteger(input, 'maxResults', 0, 1000) || DEFAULT_PAGE;

  return new Map<string, Operation>([
    [
      'ListStateMachines',
      (input) => {
        const size = pageSize(input);
        const nextToken = optionalString(input, 'nextToken', NEXT_TOKEN_MAX);
        const from = nextToken ? decodePageToken(nextToken, 'state-machines', '') : 0;
        const end = from + size;
        return {
          stateMachines: machines.slice(from, end).map((machine) => ({
            stateMachineArn: machine.arn,
            name: machine.name,
            type: 'STANDARD',
            creationDate: epochSeconds(machine.creationDate),
          })),
          nextToken: end < machines.length ? encodePageToken('state-machines', '', end) : undefined,
        };
      },
    ],
    [
      'DescribeStateMachine',
      (input) => {
        const machine = machineOf(requiredString(input, 'stateMachineArn', ARN_MAX));
        return {
          stateMachineArn: machine.arn,
          name: machine.name,
          status: 'ACTIVE',
          definition: machine.definition,
          roleArn: machine.roleArn,
          type: 'STANDARD',
          creationDate: epochSeconds(machine.creationDate),
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
          tracingConfiguration: { enabled: false },
        };
      },
    ],
    [
      'StartExecution',
      async (input) => {
        const machine = machineOf(requiredString(input, 'stateMachineArn', ARN_MAX));
        const name = optionalString(input, 'name', 1024) ?? randomUUID();
        assertExecutionName(name);
        // AWS treats a missing input as the empty object, and so does the reused-name comparison.
        const executionInput = optionalString(input, 'input', PAYLOAD_MAX_BYTES) ?? '{}';
        try {
          JSON.parse(executionInput);
        } catch (error) {
          throw new SfnApiError(
            'InvalidExecutionInput',
            `Invalid State Machine Execution Input: '${(error as Error).message}'`,
          );
        }
        const traceHeader = optionalString(input, 'traceHeader', 256);
        const record = await executions.start(machine, name, executionInput, traceHeader);
        return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
      },
    ],
    [
      'DescribeExecution',
      (input) => {
        const record = executionOf(input);
        const withData =
          optionalEnum(input, 'includedData', ['ALL_DATA', 'METADATA_ONLY']) !== 'METADATA_ONLY';
        return {
          ...executionSummary(record),
          input: withData ? record.input : undefined,
          inputDetails: { included: withData },
          output: withData ? record.output : undefined,
          outputDetails: record.output === undefined ? undefined : { included: withData },
          error: record.error,
          cause: record.cause,
          traceHeader: record.traceHeader,
        };
      },
    ],
    [
      'ListExecutions',
      (input) => {
        if (optionalString(input, 'mapRunArn', 2000) !== undefined) {
          throw new SfnApiError(
            'ValidationException',
            'The local server has no Distributed Map runs to list.',
          );
        }
        const arn = optionalString(input, 'stateMachineArn', ARN_MAX);
        if (arn === undefined) {
          throw new SfnApiError('ValidationException', 'Must provide a StateMachine ARN or MapRun ARN');
        }
        const machine = machineOf(arn);
        const statusFilter = optionalEnum(input, 'statusFilter', STATUSES);
        // Nothing is ever redriven locally.
        const redriven = optionalEnum(input, 'redriveFilter', ['REDRIVEN', 'NOT_REDRIVEN']) === 'REDRIVEN';
        const size = pageSize(input);
        const scope = `${machine.arn}|${statusFilter ?? ''}|${redriven}`;
        const nextToken = optionalString(input, 'nextToken', NEXT_TOKEN_MAX);
        // Pages continue below the last start order returned, so executions started meanwhile do not shift them.
        const below = nextToken ? decodePageToken(nextToken, 'executions', scope) : Number.POSITIVE_INFINITY;
        const matching = redriven
          ? []
          : executions
              .listFor(machine.arn)
              .filter((record) => record.seq < below && (!statusFilter || record.status === statusFilter));
        const page = matching.slice(0, size);
        const last = page.at(-1);
        return {
          executions: page.map(executionSummary),
          nextToken:
            matching.length > size && last ? encodePageToken('executions', scope, last.seq) : undefined,
        };
      },
    ],
    [
      'GetExecutionHistory',
      (input) => {
        const record = executionOf(input);
        const size = pageSize(input);
        const reverse = optionalBoolean(input, 'reverseOrder') ?? false;
        const withData = optionalBoolean(input, 'includeExecutionData') ?? true;
        const scope = `${record.executionArn}|${reverse}`;
        const nextToken = optionalString(input, 'nextToken', NEXT_TOKEN_MAX);
        const from = nextToken ? decodePageToken(nextToken, 'history', scope) : 0;
        const ordered = reverse ? [...record.events].reverse() : record.events;
        const end = from + size;
        return {
          events: ordered.slice(from, end).map((event) => renderEvent(event, withData)),
          nextToken: end < ordered.length ? encodePageToken('history', scope, end) : undefined,
        };
      },
    ],
    [
      'StopExecution',
      async (input) => {
        const record = executionOf(input);
        const error = optionalString(input, 'error', ERROR_MAX);
        const cause = optionalString(input, 'cause', CAUSE_MAX);
        return { stopDate: epochSeconds(await executions.stop(record.executionArn, error, cause)) };
      },
    ],
    [
      'SendTaskSuccess',
      async (input) => {
        const token = requiredString(input, 'taskToken', TOKEN_MAX);
        const output = requiredString(input, 'output', PAYLOAD_MAX_BYTES);
        let parsed: JsonValue;
        try {
          parsed = JSON.parse(output) as JsonValue;
        } catch (error) {
          // The token is judged first: a spent token answers TaskTimedOut whatever the output.
          await executions.assertTaskToken(token);
          throw new SfnApiError('InvalidOutput', `Invalid Output: '${(error as Error).message}'`);
        }
        await executions.sendTaskSuccess(token, parsed);
        return {};
      },
    ],
    [
      'SendTaskFailure',
      async (input) => {
        const token = requiredString(input, 'taskToken', TOKEN_MAX);
        const error = optionalString(input, 'error', ERROR_MAX);
        const cause = optionalString(input, 'cause', CAUSE_MAX);
        await executions.sendTaskFailure(token, error, cause);
        return {};
      },
    ],
    [
      'SendTaskHeartbeat',
      async (input) => {
        await executions.heartbeat(requiredString(input, 'taskToken', TOKEN_MAX));
        return {};
      },
    ],
    [
      'DescribeStateMachineForExecution',
      (input) => {
        const record = executionOf(input);
        return {
          stateMachineArn: record.stateMachineArn,
          name: record.stateMachineName,
          definition: record.definition,
          roleArn: record.roleArn,
          updateDate: epochSeconds(
            machines.find((m) => m.arn === record.stateMachineArn)?.creationDate ?? record.startDate,
          ),
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
          tracingConfiguration: { enabled: false },
        };
      },
    ],
  ]);
}
