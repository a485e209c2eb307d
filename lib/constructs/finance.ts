import { ArnFormat, CfnOutput, Fn, Stack, Validations } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { type IManagedPolicy, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  LABOUR_RATES_COLUMNS,
  LABOUR_RATES_RELATION,
  LEDGER_RELATION,
} from '../../functions/domain/finance-sql.ts';
import { LABOUR_RATES_PREFIX } from '../../functions/domain/labour-rates-object.ts';
import {
  LEDGER_COLUMNS,
  LEDGER_EXPORT_PREFIX,
  LEDGER_SCHEMA,
  LEDGER_SCHEMA_KEY,
  type LedgerColumn,
  type LedgerColumnType,
} from '../../functions/domain/ledger-export.ts';
import { CLOSE_PREFIX } from '../../functions/domain/period-close.ts';
import { throwIfInvalid } from './validation.ts';

/** A column of a Glue table, in Hive's type names (what Athena reads Parquet and JSON as). */
export interface GlueColumn {
  readonly name: string;
  readonly type: 'string' | 'bigint' | 'timestamp';
  readonly comment?: string;
}

/** Parquet's types in the export as Athena's Hive reader names them. */
const HIVE_TYPE: Readonly<Record<LedgerColumnType, GlueColumn['type']>> = {
  STRING: 'string',
  INT64: 'bigint',
  TIMESTAMP: 'timestamp',
};

/** What each column of `ledger/v1` holds, for whoever browses the table in the Athena console. */
const LEDGER_COMMENTS: Readonly<Record<LedgerColumn['name'], string>> = {
  incident_id: 'INC-YYYY-N',
  incident_number: "the incident's number, for people",
  incident_title: "the incident's title at export",
  seq: "the entry's place in the incident's log (1-based)",
  entry_id: 'the ULID; seq:<n> for a format 1 entry',
  entry_hash: 'hex SHA-256 the chain records for the entry',
  kind: "the entry's kind",
  root_kind: 'the kind of the first entry of its correction chain',
  corrects_id: 'entry_id this entry supersedes; an entry stands when no row of its incident names it here',
  state: 'intent / executed / confirmed / failed',
  amount_minor: 'minor units of currency',
  currency: 'ISO 4217 of amount_minor',
  fee_minor: "the provider's fee, minor units of fee_currency",
  fee_currency: 'ISO 4217 of fee_minor',
  obligation: "tos / brand: the entry's, else its root's",
  product_area: "the entry's, else the incident's",
  gl_code: 'general ledger code',
  world: 'RML1 / RML2 / RML3',
  phase: 'the phase the entry was recorded in',
  at: 'when recorded (UTC); decides the period',
  effective_at: 'when the money moved (UTC); reports group by it, else by at',
  counterparty: 'pseudonym cp_… only',
  effect_id: "the plan's effect",
  provider_ref: "the payments provider's reference",
  labour_role: "an ops_labour entry's role (free text)",
  labour_minutes: "an ops_labour entry's minutes",
};

/**
 * The export's Parquet schema `ledger/v1` as the Glue table declares it, column by column and in
 * the writer's order; `period` is the partition (the object's key), not a column in the file.
 */
export const LEDGER_V1_COLUMNS: readonly GlueColumn[] = LEDGER_COLUMNS.map(({ name, type }) => ({
  name,
  type: HIVE_TYPE[type],
  comment: LEDGER_COMMENTS[name],
}));

/** Where the export writes period `YYYY-MM` (`ledgerObjectKey`), under the exports bucket: the layout Glue projects. */
export const LEDGER_V1_PREFIX = LEDGER_EXPORT_PREFIX;

/** A query finance runs by name in the Athena console: the P&L views. */
export interface FinanceQuery {
  /** What the console lists, e.g. "Casebook P&L by category". */
  readonly name: string;
  readonly description: string;
  /** Athena SQL over the tables of this construct's database. */
  readonly sql: string;
}

/** Properties of {@link Finance}. */
export interface FinanceProps {
  /** The exports bucket: the ledger under `ledger/v1/period=YYYY-MM/`. */
  readonly exportBucket: IBucket;
  /** Where Athena writes query results; the workgroup encrypts them and nobody may choose otherwise. */
  readonly resultsBucket: IBucket;
  /**
   * The Glue database finance queries, as they type it (`casebook.ledger`).
   * @default 'casebook'
   */
  readonly databaseName?: string;
  /**
   * The Athena workgroup finance picks in the console.
   * @default 'casebook-finance'
   */
  readonly workGroupName?: string;
  /**
   * The first month the ledger table projects; months before it are never read.
   * @default '2020-01'
   */
  readonly firstPeriod?: string;
  /**
   * The named queries of the workgroup.
   * @default none
   */
  readonly queries?: readonly FinanceQuery[];
}

/** Athena and Glue allow lower-case letters, digits and underscores in database names. */
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,254}$/;
/** Athena workgroup names. */
const WORKGROUP_NAME = /^[a-zA-Z0-9._-]{1,128}$/;
/** Where the workgroup writes query results, in the results bucket. */
const RESULTS_PREFIX = 'results/';

/** How Athena's partition projection names the partition in a location template. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder, filled in by Athena
const PROJECTED_PERIOD = '${period}';
const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * Finance's door on AWS: a Glue database with the ledger exports as a table (one partition per
 * month, projected, so a new month needs no crawler and no `MSCK REPAIR`), an Athena workgroup
 * whose results are encrypted whatever the client asks, and the P&L as named queries.
 */
export class Finance extends Construct {
  /** The Glue database's name, as queries name it. */
  public readonly databaseName: string;
  /** The Athena workgroup's name. */
  public readonly workGroupName: string;
  /** The Glue table over `ledger/v1/`. */
  public readonly ledgerTable: CfnTable;
  /** The Glue table over the labour rates the export writes. */
  public readonly labourRatesTable: CfnTable;
  public readonly workGroup: CfnWorkGroup;
  /** The named queries, in the order given. */
  public readonly namedQueries: readonly CfnNamedQuery[];
  /** What a finance user or role needs to run the queries, and nothing that could change the ledger. */
  public readonly queryPolicy: IManagedPolicy;
  private readonly policy: ManagedPolicy;

  public constructor(scope: Construct, id: string, props: FinanceProps) {
    super(scope, id);
    const databaseName = props.databaseName ?? 'casebook';
    const workGroupName = props.workGroupName ?? 'casebook-finance';
    const firstPeriod = props.firstPeriod ?? '2020-01';
    const queries = props.queries ?? [];
    throwIfInvalid(this, [
      ...(DATABASE_NAME.test(databaseName)
        ? []
        : [`databaseName ${JSON.stringify(databaseName)} must be lower-case letters, digits and _`]),
      ...(WORKGROUP_NAME.test(workGroupName)
        ? []
        : [`workGroupName ${JSON.stringify(workGroupName)} must be letters, digits, '.', '_' or '-'`]),
      ...(PERIOD.test(firstPeriod) ? [] : [`firstPeriod ${JSON.stringify(firstPeriod)} must be YYYY-MM`]),
      ...duplicates(queries.map((q) => q.name)).map((name) => `two named queries are called ${name}`),
      ...queries.flatMap(namedQueryProblems),
    ]);
    this.databaseName = databaseName;
    this.workGroupName = workGroupName;
    const account = Stack.of(this).account;

    const database = new CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: {
        name: databaseName,
        description: 'Casebook: the Effect Ledger as exported for finance, by period',
      },
    });

    const ledgerLocation = s3Url(props.exportBucket, LEDGER_V1_PREFIX);
    this.ledgerTable = new CfnTable(this, 'LedgerTable', {
      catalogId: account,
      // By reference, so CloudFormation creates the database first.
      databaseName: database.ref,
      tableInput: {
        name: LEDGER_RELATION,
        description:
          'One row per Effect Ledger entry, in the month it was recorded (Parquet, schema ledger/v1)',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'period', type: 'string', comment: 'YYYY-MM: the month of at' }],
        parameters: {
          classification: 'parquet',
          [LEDGER_SCHEMA_KEY]: LEDGER_SCHEMA,
          // Months are projected from the key layout, not registered: the export of a new month is
          // queryable the moment its object exists, and a month without one reads as empty.
          'projection.enabled': 'true',
          'projection.period.type': 'date',
          'projection.period.format': 'yyyy-MM',
          'projection.period.range': `${firstPeriod},NOW`,
          'projection.period.interval': '1',
          'projection.period.interval.unit': 'MONTHS',
          'storage.location.template': Fn.join('', [ledgerLocation, `period=${PROJECTED_PERIOD}/`]),
        },
        storageDescriptor: {
          location: ledgerLocation,
          columns: LEDGER_V1_COLUMNS.map((c) => ({ ...c })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
        },
      },
    });

    // Rates are configuration, not ledger: the export writes the configured ones as JSON lines
    // each time it runs, so labour is priced in SQL at query time with the rates in force.
    this.labourRatesTable = new CfnTable(this, 'LabourRatesTable', {
      catalogId: account,
      databaseName: database.ref,
      tableInput: {
        name: LABOUR_RATES_RELATION,
        description: "Each labour role's hourly rate (casebook:labourRates), as the export last wrote it",
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json' },
        storageDescriptor: {
          location: s3Url(props.exportBucket, LABOUR_RATES_PREFIX),
          columns: LABOUR_RATES_COLUMNS.map(({ name, type }) => ({ name, type })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        },
      },
    });

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: workGroupName,
      description: 'Casebook finance: the P&L over the ledger exports; results encrypted, kept 30 days',
      state: 'ENABLED',
      workGroupConfiguration: {
        // Enforced, so no client can send results elsewhere or unencrypted.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        // The named queries are written for engine 3's SQL; an automatic upgrade could change it.
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        // The whole ledger of years is far smaller; a query that scans more is a mistake, not a report.
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: s3Url(props.resultsBucket, RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: account,
        },
      },
    });

    this.namedQueries = queries.map(
      (query, i) =>
        new CfnNamedQuery(this, `Query${i + 1}`, {
          name: query.name,
          description: query.description,
          database: database.ref,
          workGroup: this.workGroup.ref,
          queryString: query.sql,
        }),
    );

    this.policy = this.queryPolicyFor(props, databaseName);
    this.queryPolicy = this.policy;

    const stack = Stack.of(this);
    new CfnOutput(stack, 'FinanceDatabaseName', {
      value: databaseName,
      description: `The Glue database finance queries in Athena (tables: ${LEDGER_RELATION}, ${LABOUR_RATES_RELATION})`,
    });
    new CfnOutput(stack, 'FinanceWorkGroupName', {
      value: this.workGroup.ref,
      description: 'The Athena workgroup with the P&L named queries',
    });
    new CfnOutput(stack, 'FinanceResultsBucketName', { value: props.resultsBucket.bucketName });
    new CfnOutput(stack, 'FinanceQueryPolicyArn', {
      value: this.queryPolicy.managedPolicyArn,
      description: "Attach to finance's users or roles: run the workgroup's queries, read the exports",
    });
  }

  /**
   * Runs queries in this workgroup only (so results always go where it puts them, encrypted),
   * reads the two tables' definitions and objects, and reads and writes its own results: nothing
   * else in the exports bucket, and no write there at all.
   */
  private queryPolicyFor(props: FinanceProps, databaseName: string): ManagedPolicy {
    const stack = Stack.of(this);
    const glue = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    const exportPrefixes = [LEDGER_V1_PREFIX, LABOUR_RATES_PREFIX];
    const policy = new ManagedPolicy(this, 'QueryPolicy', {
      description: "Casebook finance: run the P&L's Athena queries over the ledger exports",
      statements: [
        new PolicyStatement({
          sid: 'QueryInTheFinanceWorkGroup',
          actions: [
            'athena:StartQueryExecution',
            'athena:StopQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:ListQueryExecutions',
            'athena:BatchGetQueryExecution',
            'athena:GetWorkGroup',
            'athena:ListNamedQueries',
            'athena:GetNamedQuery',
            'athena:BatchGetNamedQuery',
          ],
          resources: [
            stack.formatArn({
              service: 'athena',
              resource: 'workgroup',
              resourceName: this.workGroup.ref,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          ],
        }),
        new PolicyStatement({
          sid: 'ReadTheFinanceTables',
          actions: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables'],
          resources: [
            glue('catalog'),
            glue('database', databaseName),
            glue('table', `${databaseName}/${LEDGER_RELATION}`),
            glue('table', `${databaseName}/${LABOUR_RATES_RELATION}`),
          ],
        }),
        new PolicyStatement({
          sid: 'ReadTheExports',
          actions: ['s3:GetObject'],
          resources: exportPrefixes.map((prefix) => props.exportBucket.arnForObjects(`${prefix}*`)),
        }),
        new PolicyStatement({
          sid: 'ListTheExports',
          actions: ['s3:ListBucket'],
          resources: [props.exportBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': exportPrefixes.map((prefix) => `${prefix}*`) } },
        }),
        new PolicyStatement({
          sid: 'LocateTheBuckets',
          actions: ['s3:GetBucketLocation'],
          resources: [props.exportBucket.bucketArn, props.resultsBucket.bucketArn],
        }),
        new PolicyStatement({
          sid: 'KeepTheResults',
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [props.resultsBucket.arnForObjects(`${RESULTS_PREFIX}*`)],
        }),
        new PolicyStatement({
          sid: 'FindTheResults',
          actions: ['s3:ListBucket'],
          resources: [props.resultsBucket.bucketArn],
        }),
      ],
    });
    for (const prefix of exportPrefixes)
      Validations.of(policy).acknowledge({
        id: sameStackObjectsFinding(stack, props.exportBucket, prefix),
        reason: `Get only, under ${prefix}: one object per exported month (or the one rates object), named by the export as months go by, so no fixed key can be granted; nothing else in the exports bucket, and no write.`,
      });
    Validations.of(policy).acknowledge({
      id: sameStackObjectsFinding(stack, props.resultsBucket, RESULTS_PREFIX),
      reason: `Athena writes each query's result under ${RESULTS_PREFIX} with a name of its own (the query id) and the user reads it back there; the bucket holds nothing else, and the workgroup encrypts every result.`,
    });
    return policy;
  }

  /**
   * Lets the query policy read the months' closes (`closes/` in `bucket`) and the public key that
   * checks their signatures: `casebook pnl` on AWS reports a closed month from its close, and
   * refuses one it cannot check.
   */
  public readClosesFrom(bucket: IBucket, signingKey: IKey): void {
    const stack = Stack.of(this);
    this.policy.addStatements(
      new PolicyStatement({
        sid: 'ReadTheCloses',
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${CLOSE_PREFIX}*`)],
      }),
      new PolicyStatement({
        sid: 'ListTheCloses',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${CLOSE_PREFIX}*`] } },
      }),
      new PolicyStatement({
        sid: 'CheckTheCloses',
        actions: ['kms:GetPublicKey'],
        resources: [signingKey.keyArn],
      }),
    );
    Validations.of(this.policy).acknowledge({
      id: sameStackObjectsFinding(stack, bucket, CLOSE_PREFIX),
      reason: `Get only, under ${CLOSE_PREFIX}: one close per month (${CLOSE_PREFIX}YYYY-MM.json), written as months close; no anchor, and no write.`,
    });
  }
}

/**
 * The cdk-nag finding for a grant on every object under `prefix` of a bucket in `stack` itself
 * (cdk-nag writes its ARN `<LogicalId.Arn>`; an imported one is JSON, see `bucketObjectsFinding`).
 */
export function sameStackObjectsFinding(stack: Stack, bucket: IBucket, prefix: string): string {
  const arn = stack.resolve(bucket.bucketArn) as { 'Fn::GetAtt'?: [string, string] };
  const [logicalId, attribute] = arn['Fn::GetAtt'] ?? [];
  if (!logicalId) throw new Error(`${bucket.node.path} is not a bucket of ${stack.stackName}`);
  return `AwsSolutions-IAM5[Resource::<${logicalId}.${attribute}>/${prefix}*]`;
}

/** `s3://<bucket>/<prefix>`, as Glue and Athena name locations. */
function s3Url(bucket: IBucket, prefix: string): string {
  return Fn.join('', ['s3://', bucket.bucketName, '/', prefix]);
}

/** What Athena refuses in a named query (CreateNamedQuery's limits), said before a deployment fails on it. */
function namedQueryProblems({ name, description, sql }: FinanceQuery): string[] {
  return [
    ...(name.length >= 1 && name.length <= 128
      ? []
      : [`named query ${JSON.stringify(name)}: a name is 1 to 128 characters`]),
    ...(description.length >= 1 && description.length <= 1024
      ? []
      : [`named query ${name}: a description is 1 to 1024 characters`]),
    ...(sql.length >= 1 && sql.length <= 262_144
      ? []
      : [`named query ${name}: its SQL is 1 to 262144 characters`]),
  ];
}

function duplicates(names: readonly string[]): string[] {
  return [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
}
