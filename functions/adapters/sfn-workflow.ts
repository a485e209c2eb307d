/** The lifecycle state machine over Step Functions. Task tokens pass through here and are never logged. */
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ExecutionStatus, Workflow } from '../domain/ports.ts';
import { dependencyError } from './aws-errors.ts';

/** Answers meaning "that task no longer waits", not "Step Functions is broken". */
const TASK_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export class StepFunctionsWorkflow implements Workflow {
  private readonly client: SFNClient;
  private readonly stateMachineArn: string | undefined;

  /** `stateMachineArn` is needed only to start executions. */
  constructor(client: SFNClient, stateMachineArn?: string) {
    this.client = client;
    this.stateMachineArn = stateMachineArn;
  }

  async start(name: string, input: Record<string, unknown>): Promise<{ started: boolean }> {
    if (!this.stateMachineArn) throw new Error('This function is not configured to start executions');
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      // Step Functions answers a repeated start (same name, same input, still running) with the
      // same execution: either way the lifecycle runs.
      return { started: true };
    } catch (error) {
      if ((error as Error).name === 'ExecutionAlreadyExists') return { started: false };
      throw dependencyError('Starting the lifecycle execution failed', error);
    }
  }

  async completeTask(taskToken: string, output: Record<string, unknown>): Promise<boolean> {
    return this.respond(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  async failTask(taskToken: string, error: string, cause: string): Promise<boolean> {
    return this.respond(new SendTaskFailureCommand({ taskToken, error, cause }));
  }

  async executionStatus(name: string): Promise<ExecutionStatus | undefined> {
    if (!this.stateMachineArn) throw new Error('This function is not configured with the state machine');
    // arn:aws:states:<region>:<account>:stateMachine:<machine> → …:execution:<machine>:<name>
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return out.status as ExecutionStatus | undefined;
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw dependencyError('Describing the lifecycle execution failed', error);
    }
  }

  private async respond(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<boolean> {
    try {
      // The union of two command types does not narrow `send`'s overloads; both return metadata only.
      await this.client.send(command as SendTaskSuccessCommand);
      return true;
    } catch (error) {
      if (TASK_GONE.has((error as Error).name)) return false;
      throw dependencyError('Resuming the lifecycle execution failed', error);
    }
  }
}
