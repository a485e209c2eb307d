import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LEDGER_TABLE, OPERATIONS_TABLE } from '../functions/adapters/tables.ts';
import { DurableTable } from './constructs/durable-table.ts';

/** Every Casebook bucket: private, encrypted, TLS-only, retained; incomplete uploads are only cost. */
const PRIVATE_BUCKET: BucketProps = {
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  encryption: BucketEncryption.S3_MANAGED,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
  lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(7) }],
};

/** Properties of the {@link CasebookStatefulStack}. */
export interface CasebookStatefulStackProps extends StackProps {}

/**
 * Everything Casebook must never lose: the ledger, the operational table, ledger exports, the
 * archive of alert payloads and the webhook secret. Kept apart from the functions so redeploying code can never replace data.
 */
export class CasebookStatefulStack extends Stack {
  /** Effect Ledger and Decision Log, append-only. */
  public readonly ledgerTable: ITable;
  /** Incidents, correlation keys, approvals and timeline. */
  public readonly operationsTable: ITable;
  /** Ledger exports for finance (Parquet by period). */
  public readonly exportBucket: IBucket;
  /** Whole alert payloads whose values were cut to fit the tables (they may name customers). */
  public readonly payloadBucket: IBucket;
  /** Bearer token Alertmanager presents on `POST /webhooks/alertmanager`. */
  public readonly alertmanagerTokenSecret: ISecret;

  public constructor(scope: Construct, id: string, props: CasebookStatefulStackProps = {}) {
    super(scope, id, props);

    this.ledgerTable = new DurableTable(this, 'LedgerTable', {
      schema: LEDGER_TABLE,
      appendOnly: true,
    }).table;
    this.operationsTable = new DurableTable(this, 'OperationsTable', { schema: OPERATIONS_TABLE }).table;

    // Versioning keeps every overwritten export.
    this.exportBucket = new Bucket(this, 'ExportBucket', { ...PRIVATE_BUCKET, versioned: true });
    Validations.of(this.exportBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Who read or wrote an export is an audit question for CloudTrail S3 data events (complete, tamper-evident); server access logs are best-effort and would need a log bucket of their own.',
    });

    // Not versioned: a payload can name customers, and erasing one must not leave old versions.
    this.payloadBucket = new Bucket(this, 'PayloadBucket', PRIVATE_BUCKET);
    Validations.of(this.payloadBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Objects are only ever put by the ingest function, named by their SHA-256 and referenced from the incident; who read one is an audit question for CloudTrail S3 data events.',
    });

    this.alertmanagerTokenSecret = new Secret(this, 'AlertmanagerTokenSecret', {
      description: 'Casebook: bearer token Alertmanager sends with its webhook',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.alertmanagerTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The same token lives in Alertmanager's webhook configuration, outside AWS: a scheduled rotation would silently break alert intake, so it is rotated by hand together with Alertmanager.",
    });

    new CfnOutput(this, 'ExportBucketName', { value: this.exportBucket.bucketName });
    new CfnOutput(this, 'PayloadBucketName', { value: this.payloadBucket.bucketName });
    // Operators read the token from here to configure Alertmanager's webhook.
    new CfnOutput(this, 'AlertmanagerTokenSecretArn', { value: this.alertmanagerTokenSecret.secretArn });
  }
}
