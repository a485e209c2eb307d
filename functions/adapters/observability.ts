/**
 * Metrics (CloudWatch EMF) and traces (X-Ray) for every function, through one wrapper the handler
 * modules put around their handler, and the named metrics the dashboard and alarms read. The
 * incident id, wherever an invocation names one, is the correlation id of its log lines and an
 * annotation on its trace, so one incident's work can be found across functions.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { logger } from './logger.ts';

/** The CloudWatch namespace every Casebook metric is published in; the dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'Casebook';

/**
 * Every metric Casebook publishes, with the dimensions each is published under. A metric is found
 * in CloudWatch only by its exact dimension set, so the alarms' totals are published without
 * dimensions beside the broken-down ones.
 */
export const METRIC = {
  /** An alert or declaration opened a new incident; by `source`, `world`, `severity`, and a total. */
  incidentsOpened: 'IncidentsOpened',
  /** A signal folded into an incident already open; by `source`, and a total. */
  signalsFolded: 'SignalsFolded',
  /** From the incident's opening to the first person acting on it, in seconds. */
  timeToAcknowledge: 'TimeToAcknowledgeSeconds',
  /** From an approval round's opening to one approver's decision, in seconds; by `role`. */
  approvalLatency: 'ApprovalLatencySeconds',
  /** An effect reached a state (done, failed, in question…); by `kind` and `state`. */
  effects: 'Effects',
  /** A customer notice SES accepted: the denominator of the bounce and complaint rates. */
  noticesSent: 'NoticesSent',
  /** SES's delivery events for customer notices, one metric each, without dimensions. */
  noticesDelivered: 'NoticesDelivered',
  noticesBounced: 'NoticesBounced',
  noticesComplained: 'NoticesComplained',
  /** A question about an effect was opened (+1) or settled (−1): their sum over time is how many are open. */
  questionsOpened: 'EffectQuestionsOpened',
  questionsSettled: 'EffectQuestionsSettled',
  /** A question about an effect still unanswered past its deadline, each time the clock is read. */
  questionsOverdue: 'EffectQuestionsOverdue',
  /** One run of Act, in milliseconds. */
  actDuration: 'ActDurationMs',
  /** How old the newest anchor of the ledger heads was when the anchor ran, in seconds. */
  anchorAge: 'AnchorAgeSeconds',
} as const;

/** The units the metrics above are published in. */
export type MetricUnitName = 'Count' | 'Seconds' | 'Milliseconds';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
// Powertools would add the function's service name to every dimension set, which would split each
// metric per function and leave the dashboard and alarms nothing to read as one series.
metrics.clearDefaultDimensions();

/** Traces the handler and, through {@link traced}, the SDK clients; off outside Lambda. */
export const tracer = new Tracer();

/** Invocations running now; metrics outside one (a test calling a use case directly) are dropped. */
let running = 0;

/**
 * Publishes one value of `name` now, as its own EMF line with exactly `dimensions` (none: the
 * total). Dropped outside an observed invocation, so tests and CLIs print no EMF.
 */
export function recordMetric(
  name: string,
  unit: MetricUnitName,
  value: number,
  dimensions: Readonly<Record<string, string>> = {},
): void {
  if (running === 0 || !Number.isFinite(value)) return;
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  if (Object.keys(dimensions).length > 0) single.addDimensions({ ...dimensions });
  single.addMetric(name, MetricUnit[unit], value);
}

/** Counts one fact under its dimensions and in the total without them. */
export function countMetric(name: string, dimensions: Readonly<Record<string, string>> = {}): void {
  recordMetric(name, 'Count', 1);
  if (Object.keys(dimensions).length > 0) recordMetric(name, 'Count', 1, dimensions);
}

/**
 * Makes `incidentId` the correlation id of the log lines and an annotation of the trace, for the
 * rest of the invocation. Handlers that learn the incident only after a lookup call it then.
 */
export function correlate(incidentId: string | undefined): void {
  if (!incidentId) return;
  logger.setCorrelationId(incidentId);
  if (tracer.isTracingEnabled()) tracer.putAnnotation('incidentId', incidentId);
}

/** The incident id an event names: the state machine's `{incidentId}`, or a path's `{incidentId}`. */
export function incidentIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const record = event as { incidentId?: unknown; pathParameters?: { incidentId?: unknown } };
  const id = record.incidentId ?? record.pathParameters?.incidentId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** SDK clients traced as subsegments of the invocation; unchanged where tracing is off. */
export function traced<T>(client: T): T {
  return tracer.isTracingEnabled() ? (tracer.captureAWSv3Client(client) ?? client) : client;
}

/**
 * Wraps a Lambda handler: a trace subsegment with the cold start and the incident id annotated,
 * the error as trace metadata, the incident id as the logs' correlation id, a cold-start metric,
 * and whatever metrics were stored published when the invocation ends, however it ends.
 */
export function observed<E, C, R>(
  handler: (event: E, context: C) => Promise<R>,
): (event: E, context: C) => Promise<R> {
  return async (event, context) => {
    running += 1;
    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    const segment = parent?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (segment) {
      tracer.setSegment(segment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    try {
      logger.removeKeys(['correlation_id']);
      correlate(incidentIdOf(event));
      metrics.captureColdStartMetric(process.env.AWS_LAMBDA_FUNCTION_NAME);
      return await handler(event, context);
    } catch (error) {
      if (segment) tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      running -= 1;
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      if (segment && parent) {
        segment.close();
        tracer.setSegment(parent);
      }
    }
  };
}
