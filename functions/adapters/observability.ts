/**
 * Metrics (CloudWatch EMF) and traces (X-Ray) for every function, through one wrapper the handler
 * modules put around their handler, and the named metrics the dashboard and alarms read. The
 * incident id, wherever an invocation names one, is the correlation id of its log lines and an
 * annotation on its trace, so one incident's work can be found across functions.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { METRIC, METRICS_NAMESPACE } from '../metric-names.ts';
import { logger } from './logger.ts';
import { mapStackTracesOf } from './stack-traces.ts';

export { functionDimension, METRIC, METRICS_NAMESPACE } from '../metric-names.ts';

// Every handler module imports this one: its stacks name the sources wherever it is bundled.
mapStackTracesOf(import.meta.url);

/** The units the metrics above are published in. */
export type MetricUnitName = 'Count' | 'Seconds' | 'Milliseconds';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
// Powertools would add the function's service name to every dimension set, which would split each
// metric per function and leave the dashboard and alarms nothing to read as one series.
metrics.clearDefaultDimensions();

/**
 * Traces the handler and, through {@link traced}, the SDK clients. Loaded only inside Lambda: the
 * X-Ray SDK under it takes a noticeable time to load, which every CLI command and test would pay.
 */
export const tracer: Tracer | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
  : undefined;

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
  if (tracer?.isTracingEnabled()) tracer.putAnnotation('incidentId', incidentId);
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
  return tracer?.isTracingEnabled() ? (tracer.captureAWSv3Client(client) ?? client) : client;
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
    const parent = tracer?.isTracingEnabled() ? tracer.getSegment() : undefined;
    const segment = parent?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (tracer && segment) {
      tracer.setSegment(segment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    const failed = () =>
      countMetric(METRIC.functionErrors, { function: process.env.POWERTOOLS_SERVICE_NAME ?? 'unknown' });
    try {
      logger.removeKeys(['correlation_id']);
      correlate(incidentIdOf(event));
      metrics.captureColdStartMetric(process.env.AWS_LAMBDA_FUNCTION_NAME);
      const result = await handler(event, context);
      // An HTTP handler maps an unexpected failure to a 5xx answer; Lambda counts no error for it.
      if (serverError(result)) failed();
      return result;
    } catch (error) {
      failed();
      if (tracer && segment) tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      running -= 1;
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      if (tracer && segment && parent) {
        segment.close();
        tracer.setSegment(parent);
      }
    }
  };
}

function serverError(result: unknown): boolean {
  const status = (result as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 500;
}
