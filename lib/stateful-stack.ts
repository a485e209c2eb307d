import {
  Annotations,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type IBucket,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LEDGER_TABLE, OPERATIONS_TABLE } from '../functions/adapters/tables.ts';
import { NAMED_FINANCE_QUERIES } from '../functions/domain/finance-sql.ts';
import { DurableTable } from './constructs/durable-table.ts';
import { Finance } from './constructs/finance.ts';
import type { AnchorRetention } from './settings.ts';
import { CONTEXT_KEYS, parseAnchorRetention } from './settings.ts';

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
export interface CasebookStatefulStackProps extends StackProps {
  /**
   * How anchors are locked. GOVERNANCE lets a principal with `s3:BypassGovernanceRetention` delete
   * or overwrite an anchor, so it is for development stacks only, and synth warns about it.
   * @default the `casebook:anchorRetention` context, else COMPLIANCE for 2,555 days
   */
  readonly anchorRetention?: AnchorRetention;
}

/**
 * Everything Casebook must never lose: the ledger, the operational table, ledger exports (and
 * finance's tables and workgroup over them), the archive of alert payloads and the webhook secret.
 * Kept apart from the functions so redeploying code can never replace data.
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
  /** Finance's SQL over the exports: the Glue table, the Athena workgroup and its named queries. */
  public readonly finance: Finance;
  /** Athena's query results for the finance workgroup. */
  public readonly queryResultsBucket: IBucket;
  /** Bearer token Alertmanager presents on `POST /webhooks/alertmanager`. */
  public readonly alertmanagerTokenSecret: ISecret;
  /** The HMAC secrets Grafana, PagerDuty and the generic webhook sign their deliveries with. */
  public readonly webhookSigningSecrets: Readonly<Record<'grafana' | 'pagerduty' | 'generic', ISecret>>;
  /** The HMAC key that seals every ledger entry; nobody can read it, only MAC with it. */
  public readonly ledgerSealKey: IKey;
  /** The P-256 key that signs each incident's tree heads; nobody can read it, anyone may have its public key. */
  public readonly ledgerSigningKey: IKey;
  /** Digests of every chain head, under Object Lock: what shows a chain cut short. */
  public readonly anchorBucket: IBucket;
  /** The key customers' pseudonyms are made with. */
  public readonly pseudonymKeySecret: ISecret;
  /** Stripe's secret key, for when the payments provider is Stripe (the operator puts it in). */
  public readonly stripeApiKeySecret: ISecret;

  public constructor(scope: Construct, id: string, props: CasebookStatefulStackProps = {}) {
    super(scope, id, props);

    this.ledgerTable = new DurableTable(this, 'LedgerTable', {
      schema: LEDGER_TABLE,
      appendOnly: true,
    }).table;
    this.operationsTable = new DurableTable(this, 'OperationsTable', { schema: OPERATIONS_TABLE }).table;

    this.ledgerSealKey = new Key(this, 'LedgerSealKey', {
      description:
        'Casebook: seals ledger entries and anchored digests (HMAC); appenders may GenerateMac, auditors VerifyMac',
      keySpec: KeySpec.HMAC_256,
      keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Asymmetric keys do not rotate in KMS (and KMS5 asks rotation of symmetric keys only): a new
    // signing key is a new key, and heads signed with the old one still verify with its public key.
    this.ledgerSigningKey = new Key(this, 'LedgerSigningKey', {
      description:
        "Casebook: signs each incident's ledger tree heads (ECDSA P-256); appenders may Sign, anyone with the public key verifies",
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Versioning keeps every overwritten export.
    this.exportBucket = new Bucket(this, 'ExportBucket', { ...PRIVATE_BUCKET, versioned: true });
    Validations.of(this.exportBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Who read or wrote an export is an audit question for CloudTrail S3 data events (complete, tamper-evident); server access logs are best-effort and would need a log bucket of their own.',
    });

    // Results are copies of what the exports already hold, and Athena lists recent queries for 45
    // days at most: a month is enough, and older ones only keep figures that may have been corrected.
    this.queryResultsBucket = new Bucket(this, 'QueryResultsBucket', {
      ...PRIVATE_BUCKET,
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7), expiration: Duration.days(30) },
      ],
    });
    Validations.of(this.queryResultsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the finance Athena workgroup writes here (its configuration is enforced); who ran which query is in CloudTrail and the workgroup history, which access logs would only repeat.',
    });
    this.finance = new Finance(this, 'Finance', {
      exportBucket: this.exportBucket,
      resultsBucket: this.queryResultsBucket,
      databaseName: this.node.tryGetContext(CONTEXT_KEYS.financeDatabase),
      workGroupName: this.node.tryGetContext(CONTEXT_KEYS.financeWorkGroup),
      queries: NAMED_FINANCE_QUERIES,
    });

    // Not versioned: a payload can name customers, and erasing one must not leave old versions.
    this.payloadBucket = new Bucket(this, 'PayloadBucket', PRIVATE_BUCKET);
    Validations.of(this.payloadBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Objects are only ever put by the ingest function, named by their SHA-256 and referenced from the incident; who read one is an audit question for CloudTrail S3 data events.',
    });

    const retention =
      props.anchorRetention ?? parseAnchorRetention(this.node.tryGetContext(CONTEXT_KEYS.anchorRetention));
    this.anchorBucket = new Bucket(this, 'AnchorBucket', {
      ...PRIVATE_BUCKET,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        retention.mode === 'COMPLIANCE'
          ? ObjectLockRetention.compliance(Duration.days(retention.days))
          : ObjectLockRetention.governance(Duration.days(retention.days)),
    });
    if (retention.mode === 'GOVERNANCE') {
      Annotations.of(this.anchorBucket).addWarningV2(
        'Casebook:AnchorRetentionGovernance',
        `Anchors are locked in GOVERNANCE mode (${retention.days} days): anyone allowed s3:BypassGovernanceRetention can delete or overwrite an anchor, and with it the proof that a ledger was not rewritten. Use COMPLIANCE in production (${CONTEXT_KEYS.anchorRetention}).`,
      );
    }
    Validations.of(this.anchorBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Every anchor is retained under Object Lock and signed with the ledger signing key; who wrote one is an audit question for CloudTrail S3 data events, which are complete where access logs are best-effort.',
    });
    this.finance.readClosesFrom(this.anchorBucket, this.ledgerSigningKey);

    // Each secret is set outside AWS or must stay as it is, so none rotates on a schedule (SMG4).
    this.pseudonymKeySecret = this.secret(
      'PseudonymKeySecret',
      'Casebook: the key customers are pseudonymized with in the ledger, decision log and timeline',
      64,
      'A new key gives every customer a new pseudonym, so records written before and after would no longer name the same customer alike: it is changed deliberately, never on a schedule.',
    );
    this.stripeApiKeySecret = this.secret(
      'StripeApiKeySecret',
      'Casebook: the Stripe secret key Act refunds and credits with (put it in when the provider is stripe)',
      32,
      'The key is issued by Stripe, outside AWS: it is rolled in the Stripe dashboard and put here by hand; a Secrets Manager rotation could not make a new one.',
    );
    this.alertmanagerTokenSecret = this.secret(
      'AlertmanagerTokenSecret',
      'Casebook: bearer token Alertmanager sends with its webhook',
      48,
      "The same token lives in Alertmanager's webhook configuration, outside AWS: a scheduled rotation would silently break alert intake, so it is rotated by hand together with Alertmanager.",
    );
    this.webhookSigningSecrets = {
      grafana: this.secret(
        'GrafanaSigningSecret',
        "Casebook: HMAC secret of Grafana's webhook contact point (X-Grafana-Alerting-Signature)",
        48,
        "The same secret lives in Grafana's contact point, outside AWS: a scheduled rotation would silently break alert intake, so it is rotated by hand (the new and the old, space-separated, while Grafana changes over).",
      ),
      pagerduty: this.secret(
        'PagerDutySigningSecret',
        "Casebook: signing secret of the PagerDuty v3 webhook subscription (put it in from PagerDuty's answer)",
        48,
        'PagerDuty generates the signing secret when the subscription is created, outside AWS: it is put here by hand; a Secrets Manager rotation could not make PagerDuty sign with a new one.',
      ),
      generic: this.secret(
        'GenericWebhookSigningSecret',
        'Casebook: HMAC secret the generic webhook (X-Casebook-Signature) is signed with',
        48,
        "The same secret lives in each sending tool's configuration, outside AWS: it is rotated by hand together with them (the new and the old, space-separated, meanwhile).",
      ),
    };

    new CfnOutput(this, 'ExportBucketName', { value: this.exportBucket.bucketName });
    new CfnOutput(this, 'LedgerSealKeyArn', { value: this.ledgerSealKey.keyArn });
    new CfnOutput(this, 'LedgerSigningKeyArn', { value: this.ledgerSigningKey.keyArn });
    // The key itself, not a copy: a custom resource's answer passes KMS's DER bytes through UTF-8 text
    // (AwsCustomResource decodes every binary field so), which would break the key it prints.
    new CfnOutput(this, 'LedgerPublicKeyCommand', {
      description: 'Prints the PEM public key that verifies every ledger head and proof; give it to auditors',
      value: Fn.join('', [
        'npx casebook ledger public-key --signing-kms-key-id ',
        this.ledgerSigningKey.keyArn,
      ]),
    });
    new CfnOutput(this, 'AnchorBucketName', { value: this.anchorBucket.bucketName });
    // Operators put Stripe's secret key here when the payments provider is stripe.
    new CfnOutput(this, 'StripeApiKeySecretArn', { value: this.stripeApiKeySecret.secretArn });
    new CfnOutput(this, 'PayloadBucketName', { value: this.payloadBucket.bucketName });
    // Operators read the token from here to configure Alertmanager's webhook.
    new CfnOutput(this, 'AlertmanagerTokenSecretArn', { value: this.alertmanagerTokenSecret.secretArn });
    // Grafana's and the generic sender's secrets are read from here; PagerDuty's is put here.
    new CfnOutput(this, 'GrafanaSigningSecretArn', { value: this.webhookSigningSecrets.grafana.secretArn });
    new CfnOutput(this, 'PagerDutySigningSecretArn', {
      value: this.webhookSigningSecrets.pagerduty.secretArn,
    });
    new CfnOutput(this, 'GenericWebhookSigningSecretArn', {
      value: this.webhookSigningSecrets.generic.secretArn,
    });
  }

  /** A generated secret, kept when the stack goes, that is rotated by hand for `whyNotRotated`. */
  private secret(id: string, description: string, length: number, whyNotRotated: string): ISecret {
    const secret = new Secret(this, id, {
      description,
      generateSecretString: { passwordLength: length, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: whyNotRotated });
    return secret;
  }
}
