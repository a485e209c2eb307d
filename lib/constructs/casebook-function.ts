import path from 'node:path';
import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CHANGED } from '../../functions/adapters/operations-keys.ts';
import type { FunctionSpec } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../paths.ts';
import {
  APPEND_ACTIONS,
  INDEX_ACTIONS,
  MUTATING_ACTIONS,
  READ_ACTIONS,
  WRITE_ACTIONS,
} from './table-access.ts';
import { throwIfInvalid } from './validation.ts';

/**
 * The cdk-nag finding for a grant on every object of `bucket` under `prefix`, as cdk-nag names it in `stack`
 * once cross-stack references are prepared (it writes an imported ARN out as JSON).
 */
export function bucketObjectsFinding(stack: Stack, bucket: IBucket, prefix = ''): string {
  return `AwsSolutions-IAM5[Resource::${JSON.stringify(stack.resolve(bucket.bucketArn))}/${prefix}*]`;
}

/**
 * Imports the bundler replaces, relative to the project root. `node:http` imported as an ES module
 * makes Node read every export of it, and reading `WebSocket` loads all of undici: taken with
 * require() instead, it costs each cold start a tenth of what it did.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  http: './functions/adapters/node-http.ts',
  'node:http': './functions/adapters/node-http.ts',
  semver: './functions/adapters/semver-gte.ts',
};

/** The newest Node.js runtime aws-cdk-lib offers; the local stack runs on the same major. */
export const CASEBOOK_RUNTIME = Runtime.NODEJS_24_X;

/** How a function may use a table: read, read and write, or read and append only. */
export type TableAccess = 'RO' | 'RW' | 'APPEND';

/** Properties of a {@link CasebookFunction}. */
export interface CasebookFunctionProps {
  /** The catalog entry: handler module, description and timeout. */
  readonly spec: FunctionSpec;
  /**
   * Directory the catalog's entry paths are relative to; holds package-lock.json.
   * @default - the repository root
   */
  readonly projectRoot?: string;
  /**
   * Memory in MB; CPU scales with it, and SDK cold starts are CPU-bound.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A Casebook Lambda function with the house defaults (runtime, arm64, JSON logs, X-Ray, ESM
 * bundle built by the local esbuild), and helpers that bind a resource in one call: the
 * environment variable the handler's config reads and the IAM grant that goes with it.
 */
export class CasebookFunction extends Construct {
  /** The deployed function. */
  public readonly function: NodejsFunction;
  /** The function's execution role; it holds only what the bind helpers grant. */
  public readonly role: Role;

  public constructor(scope: Construct, id: string, props: CasebookFunctionProps) {
    super(scope, id);
    const { spec } = props;
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    const memorySize = props.memorySize ?? 512;
    const problems: string[] = [];
    if (!(spec.timeoutSeconds >= 1 && spec.timeoutSeconds <= 900)) {
      problems.push(`${spec.name}: timeoutSeconds must be within 1..900, got ${spec.timeoutSeconds}`);
    }
    if (!(Number.isInteger(memorySize) && memorySize >= 128 && memorySize <= 10_240)) {
      problems.push(`${spec.name}: memorySize must be an integer within 128..10240, got ${memorySize}`);
    }
    if (!spec.entry.endsWith('.ts') || path.isAbsolute(spec.entry)) {
      problems.push(`${spec.name}: entry must be a relative .ts path, got ${spec.entry}`);
    }
    throwIfInvalid(this, problems);

    // An explicit log group gets a retention (Lambda's implicit one keeps logs forever), and lets
    // the role write to this group only instead of carrying AWSLambdaBasicExecutionRole's logs:* on *.
    const logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Casebook ${spec.name}: exactly what its catalog needs grant`,
    });
    logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(projectRoot, spec.entry),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
      description: spec.description,
      runtime: CASEBOOK_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role: this.role,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      logGroup,
      environment: {
        // Matches the local stack's function names, so log lines read the same in both places.
        POWERTOOLS_SERVICE_NAME: `casebook-${spec.name}`,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        // Ship the SDK version the tests ran against, not whatever the runtime carries today.
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        forceDockerBundling: false,
        esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`) },
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource *: X-Ray has no resource-level permissions.',
    });
  }

  /** Sets an environment variable on the function. */
  public addEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * Names the table in `envName` and grants `access` on it and on the named `indexes`.
   * 'APPEND' allows only reading and putting items, and explicitly denies every call that could
   * change or remove an existing item, so no later grant on the role can make the table editable.
   */
  public bindTable(options: {
    readonly table: ITable;
    readonly envName: string;
    readonly access: TableAccess;
    /** Global secondary indexes the function queries. */
    readonly indexes?: readonly string[];
  }): this {
    const { table, envName, access } = options;
    this.function.addEnvironment(envName, table.tableName);
    const tableActions =
      access === 'RO' ? READ_ACTIONS : access === 'RW' ? [...READ_ACTIONS, ...WRITE_ACTIONS] : APPEND_ACTIONS;
    Grant.addToPrincipal({ grantee: this.role, actions: [...tableActions], resourceArns: [table.tableArn] });
    const indexArns = (options.indexes ?? []).map((name) => `${table.tableArn}/index/${name}`);
    if (indexArns.length > 0) {
      const indexActions = INDEX_ACTIONS.filter((a) => (tableActions as readonly string[]).includes(a));
      Grant.addToPrincipal({ grantee: this.role, actions: indexActions, resourceArns: indexArns });
    }
    if (access === 'APPEND') {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          actions: [...MUTATING_ACTIONS],
          resources: [table.tableArn, `${table.tableArn}/*`],
        }),
      );
    }
    return this;
  }

  /**
   * Lets a function that appends to the ledger put the change marks the anchor reads
   * (`CHANGED#<window>` partitions of the operational table) and nothing else there: the
   * condition on the partition key keeps a read-only function read-only everywhere else.
   */
  public allowChangeMarks(table: ITable): this {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${CHANGED}*`] } },
      }),
    );
    return this;
  }

  /**
   * Names the key that seals ledger entries in `envName`; a function that appends may MAC with it
   * (`kms:GenerateMac`), one that only reads gets no use of the key at all.
   */
  public bindLedgerKey(options: {
    readonly key: IKey;
    readonly envName: string;
    readonly seal: boolean;
  }): this {
    this.function.addEnvironment(options.envName, options.key.keyArn);
    if (options.seal) options.key.grant(this.role, 'kms:GenerateMac');
    return this;
  }

  /**
   * Names the key that signs tree heads in `envName`. Every function bound to it may read its public
   * key (`kms:GetPublicKey`: a head names its key by it, and a head read back is checked with it);
   * only one that appends may sign (`kms:Sign`), so no reader can make a head the log never had.
   */
  public bindHeadSigningKey(options: {
    readonly key: IKey;
    readonly envName: string;
    readonly sign: boolean;
  }): this {
    this.function.addEnvironment(options.envName, options.key.keyArn);
    options.key.grant(this.role, ...(options.sign ? ['kms:Sign', 'kms:GetPublicKey'] : ['kms:GetPublicKey']));
    return this;
  }

  /**
   * Names the bucket in `envName` and grants `actions` on its objects under `prefix` (and listing
   * them, with `list`), nothing more: no delete. Object keys are made at run time (a content hash,
   * a time), so the grant ends in a wildcard; the cdk-nag finding for it names the bucket's ARN as
   * the stateless stack imports it, which exists only once cross-stack references are prepared, so
   * it is acknowledged then, with `why`.
   */
  public bindBucketObjects(options: {
    readonly bucket: IBucket;
    readonly envName: string;
    readonly actions: readonly ('s3:PutObject' | 's3:GetObject' | 's3:AbortMultipartUpload')[];
    readonly prefix?: string;
    readonly list?: boolean;
    readonly why: string;
  }): this {
    const { bucket, prefix = '' } = options;
    this.function.addEnvironment(options.envName, bucket.bucketName);
    Grant.addToPrincipal({
      grantee: this.role,
      actions: [...options.actions],
      resourceArns: [bucket.arnForObjects(`${prefix}*`)],
    });
    if (options.list) {
      Grant.addToPrincipal({
        grantee: this.role,
        actions: ['s3:ListBucket'],
        resourceArns: [bucket.bucketArn],
      });
    }
    this.node.addValidation({
      validate: () => {
        Validations.of(this.role).acknowledge({
          id: bucketObjectsFinding(Stack.of(this), bucket, prefix),
          reason: options.why,
        });
        return [];
      },
    });
    return this;
  }

  /** Names the secret's ARN in `envName` and lets the function read its value. */
  public bindSecret(options: { readonly secret: ISecret; readonly envName: string }): this {
    this.function.addEnvironment(options.envName, options.secret.secretArn);
    options.secret.grantRead(this.role);
    return this;
  }

  /**
   * Names the state machine's ARN in `envName` and lets the function start executions of it, and
   * describe them: a delivery that finds an opening unfinished asks whether its execution exists.
   */
  public bindStateMachineStarter(options: {
    readonly stateMachine: IStateMachine;
    readonly envName: string;
  }): this {
    this.function.addEnvironment(options.envName, options.stateMachine.stateMachineArn);
    options.stateMachine.grantStartExecution(this.role);
    options.stateMachine.grantExecution(this.role, 'states:DescribeExecution');
    Validations.of(this.role).acknowledge({
      id: executionsFinding(Stack.of(this), options.stateMachine),
      reason:
        "DescribeExecution on the lifecycle state machine's own executions, whose names are incident ids known only at run time: a delivery that finds an opening unfinished asks whether its execution exists before starting it.",
    });
    return this;
  }

  /**
   * Lets the function complete (succeed, fail, heartbeat) the state machine's waiting tasks. A
   * function the state machine itself invokes gets the state machine's ARN pattern instead of its
   * ARN, which would make a dependency cycle.
   */
  public allowTaskResponse(
    stateMachine: IStateMachine | { readonly arnPattern: string; readonly arnPatternForNag: string },
  ): this {
    if ('arnPattern' in stateMachine) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          resources: [stateMachine.arnPattern],
        }),
      );
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${stateMachine.arnPatternForNag}]`,
        reason:
          "The one wildcard is the suffix CloudFormation appends to the lifecycle state machine's logical ID: this function is invoked by that state machine, so naming its ARN would be a dependency cycle.",
      });
    } else {
      stateMachine.grantTaskResponse(this.role);
    }
    return this;
  }

  /**
   * Lets the function send email from exactly `from`: SES checks the sending identity, which is
   * either the address itself or its domain, and `ses:FromAddress` pins a domain identity to the
   * one address.
   */
  public allowSendEmailFrom(from: string): this {
    const domain = from.slice(from.lastIndexOf('@') + 1);
    const stack = Stack.of(this);
    const identity = (name: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [identity(from), identity(domain)],
        conditions: { StringEquals: { 'ses:FromAddress': from } },
      }),
    );
    return this;
  }
}

/**
 * The cdk-nag finding for a grant on every execution of `stateMachine`, which CDK writes as
 * `…:execution:<the name split out of its ARN>:*`.
 */
export function executionsFinding(stack: Stack, stateMachine: IStateMachine): string {
  const name = stack.resolve(Fn.select(6, Fn.split(':', stateMachine.stateMachineArn)));
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${JSON.stringify(name)}:*]`;
}
