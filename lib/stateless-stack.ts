import path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { SIGNING_SECRET_ENV } from '../functions/adapters/config.ts';
import { OPERATIONS_TABLE } from '../functions/adapters/tables.ts';
import { FUNCTIONS, type FunctionKey, type FunctionSpec, STATE_MACHINE } from '../functions/catalog.ts';
import { ANCHOR_PREFIX } from '../functions/domain/anchor.ts';
import { LABOUR_RATES_KEY } from '../functions/domain/labour-rates-object.ts';
import { LEDGER_EXPORT_PREFIX } from '../functions/domain/ledger-export.ts';
import { ENV } from '../functions/env-names.ts';
import { ROUTES } from '../functions/routes.ts';
import { CasebookApi } from './constructs/casebook-api.ts';
import { CasebookFunction } from './constructs/casebook-function.ts';
import { ConsoleSignIn, parseConsoleIssuer } from './constructs/console-sign-in.ts';
import { DeliveryEvidence } from './constructs/delivery-evidence.ts';
import { IncidentWorkflow } from './constructs/incident-workflow.ts';
import { alarmAddressesFromContext, CasebookObservability } from './constructs/observability.ts';
import { PeriodClose } from './constructs/period-close.ts';
import { invalidConfiguration } from './constructs/validation.ts';
import { REPO_ROOT } from './paths.ts';
import {
  type Approvers,
  CONTEXT_KEYS,
  parseAlertPolicySetting,
  parseOperationsSettings,
  parseSettings,
} from './settings.ts';

/**
 * How the callers of each routed function are authenticated, since no route has an API Gateway
 * authorizer. Written down here so the cdk-nag acknowledgement of each route says why.
 */
const ROUTE_AUTHENTICATION: Readonly<Partial<Record<FunctionKey, string>>> = {
  ingestAlert:
    'Alert sources cannot sign AWS requests; the function checks the bearer token (kept in Secrets Manager) before it reads the body.',
  approvalsPage:
    'Approvers arrive from emailed links without AWS credentials; the 256-bit random secret in the link (only its hash is stored, bound to incident, round, role, approver and plan version, single-use, good for its round) is the credential, and GET/HEAD never decide.',
  effectQuestionsPage:
    'Responders arrive from emailed links without AWS credentials; the 256-bit random secret in the link (only its hash is stored) is the credential, and GET/HEAD never answer.',
  workroom:
    'Responders and the SRE lead arrive from their e-mailed workroom links without AWS credentials; the 256-bit random secret in the link (only its hash is stored, bound to person, role and incident, expiring) is the credential, and GET/HEAD never act.',
  console:
    'People open the console in a browser, which cannot sign AWS requests; a JWT authorizer cannot read a cookie and a Lambda authorizer cannot redirect to sign-in, so the function checks its HMAC-signed session cookie (made after an OpenID Connect sign-in with PKCE, state and nonce) and sends anyone without a good one to sign in.',
};

/** Properties of the {@link CasebookStatelessStack}: the stateful resources it works on, and settings. */
export interface CasebookStatelessStackProps extends StackProps {
  /** Effect Ledger and Decision Log; functions get at most read-and-append access. */
  readonly ledgerTable: ITable;
  /** Incidents, correlation keys, approvals and timeline. */
  readonly operationsTable: ITable;
  /** Bearer token the Alertmanager webhook presents. */
  readonly alertmanagerTokenSecret: ISecret;
  /** The HMAC secrets Grafana, PagerDuty and the generic webhook sign with. */
  readonly webhookSigningSecrets: Readonly<Record<'grafana' | 'pagerduty' | 'generic', ISecret>>;
  /** The HMAC key that seals ledger entries. */
  readonly ledgerSealKey: IKey;
  /** The asymmetric key that signs tree heads. */
  readonly ledgerSigningKey: IKey;
  /** Where anchored digests of the chain heads go. */
  readonly anchorBucket: IBucket;
  /** The key customers' pseudonyms are made with. */
  readonly pseudonymKeySecret: ISecret;
  /** Stripe's secret key (read only when the payments provider is stripe). */
  readonly stripeApiKeySecret: ISecret;
  /** Where whole alert payloads are kept when a value in them was cut; functions may only put. */
  readonly payloadBucket: IBucket;
  /** Ledger exports for finance; the export function may only put (and abort uploads) under `ledger/v1/`. */
  readonly exportBucket: IBucket;
  /**
   * Address Casebook sends approval requests and customer notices from.
   * @default - CDK context `casebook:mailFrom`
   */
  readonly mailFrom?: string;
  /**
   * Who is asked to approve a remediation plan.
   * @default - CDK context `casebook:approvers`
   */
  readonly approvers?: Approvers;
}

/**
 * Everything that can be replaced by redeploying: the functions, the lifecycle state machine and
 * the HTTP API. Each function gets exactly what its catalog `needs` say.
 */
export class CasebookStatelessStack extends Stack {
  /** Every catalog function, by catalog key. */
  public readonly functions: Readonly<Record<FunctionKey, IFunction>>;
  /** The incident lifecycle state machine. */
  public readonly stateMachine: IStateMachine;
  /** Alarms on failed, throttled, aborted and timed-out lifecycle executions. */
  public readonly workflowAlarms: readonly IAlarm[];
  /** The public HTTP API. */
  public readonly httpApi: IHttpApi;
  /** Base URL of the HTTP API; approval links start with it. */
  public readonly apiUrl: string;
  /** The notices' SES identity, configuration set and the queue their events go through. */
  public readonly deliveryEvidence: DeliveryEvidence;

  public constructor(scope: Construct, id: string, props: CasebookStatelessStackProps) {
    super(scope, id, props);
    const specs = Object.entries(FUNCTIONS) as [FunctionKey, FunctionSpec][];
    const parsed = parseSettings({
      mailFrom: props.mailFrom ?? this.node.tryGetContext(CONTEXT_KEYS.mailFrom),
      approvers: props.approvers ?? this.node.tryGetContext(CONTEXT_KEYS.approvers),
      approvalPolicy: this.node.tryGetContext(CONTEXT_KEYS.approvalPolicy),
    });
    const operations = parseOperationsSettings((key) => this.node.tryGetContext(key));
    const alertPolicy = parseAlertPolicySetting(this.node.tryGetContext(CONTEXT_KEYS.alertPolicy));
    const consoleIssuer = parseConsoleIssuer(this.node.tryGetContext(CONTEXT_KEYS.oidc), CONTEXT_KEYS.oidc);
    const problems = [
      ...(parsed.ok ? [] : parsed.problems),
      ...consoleIssuer.problems,
      ...alertPolicy.problems,
      ...(operations.ok ? [] : operations.problems),
      ...catalogProblems(specs),
    ];
    if (!parsed.ok || !operations.ok || problems.length > 0) throw invalidConfiguration(this, problems);
    const settings = operations.settings;
    const { mailFrom, approvers, approvalPolicy } = parsed.settings;

    const built = new Map<FunctionKey, CasebookFunction>();

    // Resources that exist before the functions: tables, keys, secrets, buckets.
    for (const [key, spec] of specs) {
      const fn = new CasebookFunction(this, constructId(key), { spec });
      const { needs } = spec;
      fn.bindTable({
        table: props.operationsTable,
        envName: ENV.operationsTable,
        access: needs.operations,
        indexes: OPERATIONS_TABLE.globalSecondaryIndexes.map((index) => index.indexName),
      });
      if (needs.ledger) {
        fn.bindTable({ table: props.ledgerTable, envName: ENV.ledgerTable, access: needs.ledger });
        fn.bindLedgerKey({
          key: props.ledgerSealKey,
          envName: ENV.ledgerKmsKeyId,
          seal: needs.ledger === 'APPEND' || Boolean(needs.anchors),
        });
        fn.bindHeadSigningKey({
          key: props.ledgerSigningKey,
          envName: ENV.ledgerSigningKmsKeyId,
          sign: needs.ledger === 'APPEND' || Boolean(needs.anchors) || Boolean(needs.closes),
        });
      }
      if (needs.anchors) {
        fn.bindBucketObjects({
          bucket: props.anchorBucket,
          envName: ENV.anchorBucket,
          actions: ['s3:PutObject', 's3:GetObject'],
          prefix: ANCHOR_PREFIX,
          list: true,
          why: `Put and get under ${ANCHOR_PREFIX} only: each anchor is named by its number, which only the anchor run knows, so no fixed key can be granted; nothing can be deleted, and Object Lock keeps every version.`,
        });
        fn.bindBucketObjects({
          bucket: props.anchorBucket,
          envName: ENV.anchorBucket,
          actions: ['s3:GetObject'],
          prefix: 'anchors/',
          why: 'Get only under anchors/: the digests an older Casebook wrote there, the first signed anchor links to the newest of them.',
        });
      }
      // Every append marks its incident changed, for the anchor; RW functions may put there anyway.
      if (needs.ledger === 'APPEND' && needs.operations !== 'RW') fn.allowChangeMarks(props.operationsTable);
      if (needs.pseudonyms) {
        fn.bindSecret({ secret: props.pseudonymKeySecret, envName: ENV.pseudonymKeySecretArn });
      }
      if (needs.people) {
        fn.addEnvironment(ENV.responders, settings.responders.join(',')).addEnvironment(
          ENV.sreLead,
          settings.sreLead,
        );
      }
      // The clock's targets go to whoever reads a deadline: the waits, and the e-mails that ask by when.
      if ((needs.people || needs.approvalPolicy) && settings.deadlines) {
        fn.addEnvironment(ENV.deadlines, settings.deadlines);
      }
      if (needs.payments) {
        fn.addEnvironment(ENV.paymentsProvider, settings.paymentsProvider)
          .addEnvironment(ENV.mailRatePerSecond, String(settings.rates.mail))
          .addEnvironment(ENV.paymentsRatePerSecond, String(settings.rates.payments));
        if (settings.paymentsProvider === 'stripe') {
          fn.bindSecret({ secret: props.stripeApiKeySecret, envName: ENV.stripeApiKeySecretArn });
        }
      }
      if (needs.payloadArchive) {
        fn.bindBucketObjects({
          bucket: props.payloadBucket,
          envName: ENV.payloadBucket,
          actions: ['s3:PutObject'],
          why: 'Put-only on the payload bucket: objects are named by the SHA-256 of the payload they hold, so no fixed key can be granted; nothing can be read, listed or deleted.',
        });
      }
      if (needs.exports) {
        fn.bindBucketObjects({
          bucket: props.exportBucket,
          envName: ENV.exportBucket,
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          prefix: LEDGER_EXPORT_PREFIX,
          why: `Put (and abort its own multipart uploads) under ${LEDGER_EXPORT_PREFIX} only: one object per month, ${LEDGER_EXPORT_PREFIX}period=YYYY-MM/ledger.parquet, whose month is known only when it runs; nothing can be read or deleted, and versioning keeps every export it replaces.`,
        });
        // The configured rates go where Athena's labour_rates table reads them: that one key, put only.
        if (settings.labourRates) fn.addEnvironment(ENV.labourRates, settings.labourRates);
        fn.role.addToPrincipalPolicy(
          new PolicyStatement({
            actions: ['s3:PutObject'],
            resources: [props.exportBucket.arnForObjects(LABOUR_RATES_KEY)],
          }),
        );
      }
      if (needs.closes) new PeriodClose(this, 'PeriodClose', { fn, anchorBucket: props.anchorBucket });
      if (needs.webhookSecret) {
        fn.bindSecret({ secret: props.alertmanagerTokenSecret, envName: ENV.alertmanagerTokenSecretArn });
        for (const [source, { arn }] of Object.entries(SIGNING_SECRET_ENV)) {
          fn.bindSecret({
            secret: props.webhookSigningSecrets[source as keyof typeof SIGNING_SECRET_ENV],
            envName: arn,
          });
        }
      }
      if (needs.sendEmail) {
        fn.allowSendEmailFrom(mailFrom).addEnvironment(ENV.mailFrom, mailFrom);
      }
      if (needs.approvalPolicy) {
        // The addresses are the roster wherever the policy names nobody.
        fn.addEnvironment(ENV.approverLegal, approvers.legal)
          .addEnvironment(ENV.approverBusiness, approvers.business)
          .addEnvironment(ENV.approverSre, approvers.sre);
        if (approvalPolicy) fn.addEnvironment(ENV.approvalPolicy, approvalPolicy);
      }
      if (needs.alertPolicy && alertPolicy.json) fn.addEnvironment(ENV.alertPolicy, alertPolicy.json);
      built.set(key, fn);
    }
    const fnOf = (key: FunctionKey) => built.get(key) as CasebookFunction;
    // Neither SNS topic can use the AWS-managed key (SES and CloudWatch could not publish), and a
    // key is billed by the month whatever it encrypts: one serves both, each construct granting its
    // own publisher. Who may publish to which topic is still each topic's own policy. It guards only
    // messages in flight, so it goes with the stack instead of being billed after it.
    const topicKey = new Key(this, 'TopicKey', {
      description:
        'Casebook: encrypts the alarm topic and the topic of SES events about notices; CloudWatch and SES may publish through it',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deliveryEvidence = new DeliveryEvidence(this, 'DeliveryEvidence', {
      topicKey,
      mailFrom,
      senders: [fnOf('carryOutEffects'), fnOf('effectQuestionsPage')],
      recorder: fnOf('sesEvents'),
    });
    const lambdas = {} as Record<FunctionKey, IFunction>;
    for (const [key, fn] of built) lambdas[key] = fn.function;

    // The state machine invokes the functions the ASL names; functions that start or resume it
    // are bound afterwards, so references only ever point one way.
    const workflow = new IncidentWorkflow(this, 'IncidentWorkflow', {
      definitionFile: path.join(REPO_ROOT, STATE_MACHINE.definitionFile),
      functions: Object.fromEntries(
        specs.flatMap(([key, spec]) => (spec.substitution ? [[spec.substitution, lambdas[key]]] : [])),
      ),
    });
    for (const [key, spec] of specs) {
      const fn = built.get(key) as CasebookFunction;
      if (spec.needs.startExecution) {
        fn.bindStateMachineStarter({ stateMachine: workflow.stateMachine, envName: ENV.stateMachineArn });
      }
      if (spec.needs.taskResponse) {
        fn.allowTaskResponse(spec.substitution ? workflow : workflow.stateMachine);
      }
    }

    const api = new CasebookApi(this, 'Api', {
      routes: ROUTES,
      functions: lambdas,
      authentication: ROUTE_AUTHENTICATION as Readonly<Record<string, string>>,
    });
    for (const [key, spec] of specs) {
      if (spec.needs.publicBaseUrl) built.get(key)?.addEnvironment(ENV.publicBaseUrl, api.url);
    }

    // The console's issuer and client: the pool's client names the API's callback URL, and the
    // console function names the client (the API's own resource does not depend on any function).
    const domainPrefix = this.node.tryGetContext(CONTEXT_KEYS.cognitoDomainPrefix) as string | undefined;
    const signIn = new ConsoleSignIn(this, 'ConsoleSignIn', {
      apiUrl: api.url,
      ...(consoleIssuer.issuer ? { issuer: consoleIssuer.issuer } : {}),
      ...(domainPrefix ? { domainPrefix } : {}),
    });
    for (const [key, spec] of specs) {
      if (spec.needs.signIn) signIn.bind(built.get(key) as CasebookFunction);
    }

    // The ledger is anchored on a schedule as well as when an incident closes.
    new Rule(this, 'AnchorSchedule', {
      description: 'Casebook: anchors the ledger heads that changed since the last anchor in S3',
      schedule: Schedule.rate(Duration.minutes(settings.anchorIntervalMinutes)),
      targets: [new LambdaFunction(lambdas.anchorLedger, { retryAttempts: 2 })],
    });

    // The open month is exported daily (and the month just closed, on the first), as well as on demand.
    new Rule(this, 'LedgerExportSchedule', {
      description: 'Casebook: exports the Effect Ledger of the open month for finance (ledger/v1 Parquet)',
      schedule: Schedule.cron({ hour: '1', minute: '15' }),
      targets: [new LambdaFunction(lambdas.exportLedger, { retryAttempts: 2 })],
    });

    const observability = new CasebookObservability(this, 'Observability', {
      topicKey,
      alarmAddresses: [
        settings.sreLead,
        ...alarmAddressesFromContext(this.node.tryGetContext(CONTEXT_KEYS.alarmAddresses)),
      ],
      ingestFunction: lambdas.ingestAlert,
      workflowAlarms: workflow.alarms,
      tables: { Operations: props.operationsTable, Ledger: props.ledgerTable },
      anchorIntervalMinutes: settings.anchorIntervalMinutes,
    });

    this.functions = lambdas;
    this.stateMachine = workflow.stateMachine;
    this.workflowAlarms = workflow.alarms;
    this.httpApi = api.httpApi;
    this.apiUrl = api.url;

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Base URL of the Casebook HTTP API' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: observability.alarmTopic.topicArn,
      description: 'SNS topic every Casebook alarm notifies (each address must confirm its subscription)',
    });
    new CfnOutput(this, 'DashboardName', {
      value: observability.dashboard.dashboardName,
      description: 'CloudWatch dashboard of the Casebook metrics',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: workflow.stateMachine.stateMachineArn,
      description: 'The incident lifecycle state machine',
    });
  }
}

/** `ingestAlert` becomes `IngestAlert`: construct IDs follow the catalog keys. */
function constructId(key: FunctionKey): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/**
 * A function the API routes to cannot also carry the API's URL: API -> integration -> function
 * -> API would be a dependency cycle. (The approval mailer is invoked by the state machine.)
 */
function catalogProblems(specs: readonly [FunctionKey, FunctionSpec][]): string[] {
  const routed = new Set<string>(ROUTES.map((r) => r.fn));
  return specs
    .filter(([key, spec]) => spec.needs.publicBaseUrl && routed.has(key))
    .map(([, spec]) => `${spec.name} both serves an API route and needs publicBaseUrl, a dependency cycle`);
}
