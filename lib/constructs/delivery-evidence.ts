import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  ConfigurationSet,
  ConfigurationSetTlsPolicy,
  DkimIdentity,
  EasyDkimSigningKeyLength,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/env-names.ts';
import type { CasebookFunction } from './casebook-function.ts';

/** The SES events a notice's configuration set publishes: whether the customer was told. */
export const NOTICE_EVENTS = [
  EmailSendingEvent.DELIVERY,
  EmailSendingEvent.BOUNCE,
  EmailSendingEvent.COMPLAINT,
  EmailSendingEvent.REJECT,
  EmailSendingEvent.DELIVERY_DELAY,
] as const;

/** Events handed to the function at once. */
export const EVENT_BATCH_SIZE = 10;
/**
 * How many batches are recorded at once: every event appends to its incident's ledger, and a
 * burst of 10,000 events about one incident's notices would otherwise contend for its one log.
 */
export const EVENT_CONCURRENCY = 2;
/** Deliveries of one event before it is set aside on the dead-letter queue. */
export const MAX_RECEIVES = 5;

/** Properties of {@link DeliveryEvidence}. */
export interface DeliveryEvidenceProps {
  /** The key the events topic is encrypted with; SES and SNS are allowed to use it here. */
  readonly topicKey: IKey;
  /** The address notices are sent from; its domain is the identity created. */
  readonly mailFrom: string;
  /**
   * The functions that send notices (Act, and the question page that sends a bounced one to
   * another address): they send them under the configuration set.
   */
  readonly senders: readonly CasebookFunction[];
  /** The function that records the events (`ses-events`). */
  readonly recorder: CasebookFunction;
}

/**
 * Proof that customers were told: the sender's domain as an SES identity with Easy DKIM, a
 * configuration set every notice goes out under, and its event destination (Delivery, Bounce,
 * Complaint, Reject, DeliveryDelay → SNS → SQS → the `ses-events` function, ten at a time, at
 * a bounded concurrency). The DKIM records to publish are outputs of the stack.
 */
export class DeliveryEvidence extends Construct {
  public readonly identity: EmailIdentity;
  public readonly configurationSet: ConfigurationSet;
  public readonly topic: Topic;
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;

  public constructor(scope: Construct, id: string, props: DeliveryEvidenceProps) {
    super(scope, id);
    const domain = props.mailFrom.slice(props.mailFrom.lastIndexOf('@') + 1);

    this.configurationSet = new ConfigurationSet(this, 'Notices', {
      reputationMetrics: true,
      sendingEnabled: true,
      tlsPolicy: ConfigurationSetTlsPolicy.REQUIRE,
      // A bounced or complaining address is not tried again by SES: the responders are asked instead.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });

    // The identity outlives a redeploy of this stack: its DKIM records are published in the
    // customer's DNS, and a new identity would mean new records. It has no default configuration
    // set: only notices go out under it (Act names it), so every event is about a notice.
    this.identity = new EmailIdentity(this, 'SenderDomain', {
      identity: Identity.domain(domain),
      dkimSigning: true,
      dkimIdentity: DkimIdentity.easyDkim(EasyDkimSigningKeyLength.RSA_2048_BIT),
    });
    this.identity.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // SES publishes to an encrypted topic only with a key whose policy lets it.
    const topicKey = props.topicKey;
    topicKey.addToResourcePolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        principals: [new ServicePrincipal('ses.amazonaws.com')],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'Events', {
      displayName: 'Casebook: SES events about notices',
      masterKey: topicKey,
      enforceSSL: true,
    });
    this.configurationSet.addEventDestination('ToTopic', {
      destination: EventDestination.snsTopic(this.topic),
      events: [...NOTICE_EVENTS],
    });

    this.deadLetterQueue = new Queue(this, 'EventsDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'EventsQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the function's timeout, so a batch is never handed out twice while it is worked.
      visibilityTimeout: Duration.seconds(6 * (props.recorder.function.timeout?.toSeconds() ?? 60)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });
    // SNS needs the topic key to hand messages over; the queue's own encryption is SQS's.
    topicKey.grant(new ServicePrincipal('sns.amazonaws.com'), 'kms:GenerateDataKey*', 'kms:Decrypt');
    this.topic.addSubscription(new SqsSubscription(this.queue));
    props.recorder.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: EVENT_BATCH_SIZE,
        maxConcurrency: EVENT_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );

    for (const sender of props.senders) {
      sender.addEnvironment(ENV.sesConfigurationSet, this.configurationSet.configurationSetName);
      // Sending under a configuration set is authorized on the set as well as on the identity.
      sender.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [this.configurationSetArn()],
          conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
        }),
      );
    }

    this.identity.dkimRecords.forEach((record, i) => {
      new CfnOutput(this, `DkimRecord${i + 1}`, {
        value: `${record.name} CNAME ${record.value}`,
        description: `DKIM: publish this CNAME record in the DNS of ${domain} (record ${i + 1} of 3)`,
      });
    });
    new CfnOutput(this, 'ConfigurationSetName', {
      value: this.configurationSet.configurationSetName,
      description: 'The SES configuration set notices are sent under; its events prove who was told',
    });
  }

  private configurationSetArn(): string {
    const stack = this.configurationSet.stack;
    return stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSet.configurationSetName,
    });
  }
}
