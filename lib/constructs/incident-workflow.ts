import { readFileSync } from 'node:fs';
import { ArnFormat, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  type IStateMachine,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { throwIfInvalid } from './validation.ts';

/** Properties of an {@link IncidentWorkflow}. */
export interface IncidentWorkflowProps {
  /** Absolute path of the ASL file; the local stack executes the same file. */
  readonly definitionFile: string;
  /** The function behind each `${Name}` substitution in the ASL file; every one must be given. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * How long execution logs are kept.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The incident lifecycle as a Standard state machine built from the ASL file, logged without
 * execution data (inputs carry task tokens and customer data), traced, and alarmed on every way
 * an execution can end badly.
 */
export class IncidentWorkflow extends Construct {
  /** The lifecycle state machine. */
  public readonly stateMachine: IStateMachine;
  /** Alarms on failed, throttled, aborted and timed-out executions. */
  public readonly alarms: readonly Alarm[];
  /**
   * The state machine's ARN as a pattern built from its logical ID (CloudFormation names it
   * `<logical id>-<random>`), for the functions it invokes that must also answer its task tokens:
   * a reference to the ARN itself would be a dependency cycle.
   */
  public readonly arnPattern: string;
  /** The same pattern as cdk-nag writes it, for the acknowledgement of its one wildcard. */
  public readonly arnPatternForNag: string;

  public constructor(scope: Construct, id: string, props: IncidentWorkflowProps) {
    super(scope, id);
    throwIfInvalid(this, substitutionProblems(props.definitionFile, Object.keys(props.functions)));

    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(props.definitionFile),
      definitionSubstitutions: Object.fromEntries(
        Object.entries(props.functions).map(([name, fn]) => [name, fn.functionArn]),
      ),
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The ASL names unqualified ARNs, so the role needs no `:*` for versions and aliases.
    stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(props.functions).map((fn) => fn.functionArn),
      }),
    );
    Validations.of(stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only CloudWatch Logs vended-delivery actions (logs:CreateLogDelivery and friends) and X-Ray tracing use Resource *: neither supports resource-level permissions.',
    });
    this.stateMachine = stateMachine;
    const name = `${Stack.of(this).getLogicalId(stateMachine.node.defaultChild as CfnResource)}-*`;
    this.arnPattern = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.arnPatternForNag = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${name}`;

    const alarm = (name: string, metric: Metric, what: string) =>
      new Alarm(this, name, {
        alarmDescription: `Casebook incident lifecycle: ${what}. An incident may be stuck in its recorded phase.`,
        metric: metric.with({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.alarms = [
      alarm('FailedAlarm', stateMachine.metricFailed(), 'an execution failed'),
      alarm('ThrottledAlarm', stateMachine.metricThrottled(), 'an execution was throttled'),
      alarm('AbortedAlarm', stateMachine.metricAborted(), 'an execution was aborted'),
      alarm('TimedOutAlarm', stateMachine.metricTimedOut(), 'an execution timed out'),
    ];
  }
}

/** Every `${Name}` in the file needs a function and every function a `${Name}`, or the ARN is lost. */
function substitutionProblems(definitionFile: string, given: readonly string[]): string[] {
  let text: string;
  try {
    text = readFileSync(definitionFile, 'utf8');
  } catch (error) {
    return [`cannot read the state machine definition ${definitionFile}: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  try {
    JSON.parse(text);
  } catch (error) {
    problems.push(`${definitionFile} is not valid JSON: ${(error as Error).message}`);
  }
  const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string));
  for (const name of used) {
    if (!given.includes(name)) problems.push(`no function given for \${${name}} in ${definitionFile}`);
  }
  for (const name of given) {
    if (!used.has(name)) problems.push(`function given for \${${name}}, which ${definitionFile} never uses`);
  }
  return problems;
}
