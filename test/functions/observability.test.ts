import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HttpEvent } from '../../functions/adapters/http.ts';
import { logger } from '../../functions/adapters/logger.ts';
import {
  correlate,
  countMetric,
  incidentIdOf,
  METRIC,
  METRICS_NAMESPACE,
  observed,
  recordMetric,
} from '../../functions/adapters/observability.ts';
import { makePageHandler } from '../../functions/pages/page-handler.ts';

interface Emf {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
});

const emf = () => lines.map((l) => JSON.parse(l) as Emf).filter((o) => o._aws?.CloudWatchMetrics);
const named = (name: string) =>
  emf().filter((o) => o._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === name));

describe('observed', () => {
  it('publishes a counted fact in the Casebook namespace, as a total and under its dimensions', async () => {
    const handler = observed(async (_event: unknown) => {
      countMetric(METRIC.incidentsOpened, {
        source: 'alertmanager',
        world: 'payments',
        severity: 'critical',
      });
      return 'ok';
    });
    await expect(handler({}, {})).resolves.toBe('ok');
    const opened = named(METRIC.incidentsOpened);
    expect(opened).toHaveLength(2);
    for (const line of opened) {
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
      expect(line[METRIC.incidentsOpened]).toBe(1);
    }
    const dimensionSets = opened.map((o) => [...(o._aws.CloudWatchMetrics[0]?.Dimensions[0] ?? [])].sort());
    expect(dimensionSets).toContainEqual([]);
    expect(dimensionSets).toContainEqual(['severity', 'source', 'world']);
    // Without the function's service name: one series per fact, whichever function saw it.
    expect(opened.every((o) => !('service' in o))).toBe(true);
  });

  it('drops metrics outside an invocation, so tests and the CLI print no EMF', () => {
    recordMetric(METRIC.actDuration, 'Milliseconds', 12);
    countMetric(METRIC.noticesSent);
    expect(emf()).toEqual([]);
  });

  it('keeps dropping after an invocation that threw, and rethrows its error', async () => {
    const handler = observed(async () => {
      throw new Error('boom');
    });
    await expect(handler(undefined, undefined)).rejects.toThrow('boom');
    countMetric(METRIC.noticesSent);
    expect(named(METRIC.noticesSent)).toEqual([]);
  });

  it("makes the event's incident id the logs' correlation id, and a later one once it is known", async () => {
    logger.setLogLevel('INFO');
    const handler = observed(async (event: { incidentId?: string }) => {
      logger.info('first');
      if (!event.incidentId) correlate('inc-found-later');
      logger.info('second');
    });
    await handler({ incidentId: 'inc-from-event' }, {});
    await handler({}, {});
    const logged = lines
      .map((l) => JSON.parse(l) as { message?: string; correlation_id?: string })
      .filter((l) => l.message);
    expect(logged.map((l) => [l.message, l.correlation_id])).toEqual([
      ['first', 'inc-from-event'],
      ['second', 'inc-from-event'],
      // A new invocation starts without the last one's incident.
      ['first', undefined],
      ['second', 'inc-found-later'],
    ]);
  });

  it("correlates a page's post with the incident its answer names, though the link names none", async () => {
    logger.setLogLevel('INFO');
    const handler = observed(
      makePageHandler({
        param: 'linkId',
        posted: 'Answered',
        what: 'Test page',
        view: async () => ({}),
        render: () => '',
        post: async () => ({ incidentId: 'inc-behind-the-link' }),
        notFound: () => '',
      }),
    );
    const event = {
      requestContext: { http: { method: 'POST', sourceIp: '192.0.2.1', userAgent: 'test' } },
      pathParameters: { linkId: 'opaque-link' },
      rawPath: '/pages/opaque-link',
      headers: {},
      isBase64Encoded: false,
    } as unknown as HttpEvent;
    expect((await handler(event, {})).statusCode).toBe(303);
    const logged = lines.map((l) => JSON.parse(l) as { message?: string; correlation_id?: string });
    expect(logged.find((l) => l.message === 'Answered')?.correlation_id).toBe('inc-behind-the-link');
  });

  it('finds the incident id in a state machine input and in an API path', () => {
    expect(incidentIdOf({ incidentId: 'inc-1', resumeFrom: 'Act' })).toBe('inc-1');
    expect(incidentIdOf({ pathParameters: { incidentId: 'inc-2' } })).toBe('inc-2');
    expect(incidentIdOf({ pathParameters: { linkId: 'x' } })).toBeUndefined();
    expect(incidentIdOf('inc-3')).toBeUndefined();
  });
});
