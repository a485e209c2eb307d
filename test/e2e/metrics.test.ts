/**
 * End to end on the local stack, over HTTP, with EMF turned on (`POWERTOOLS_METRICS_DISABLED=false`):
 * an alert through the ingest handler as the local runtime runs it publishes `IncidentsOpened` in
 * the Casebook namespace under its source, world and severity, and its log lines carry the new
 * incident's id as their correlation id.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../functions/metric-names.ts';
import type { LocalStack } from '../../local/stack.ts';
import { freePorts, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
const lines: string[] = [];
const write = process.stdout.write.bind(process.stdout);

beforeAll(async () => {
  // The handlers run in this process: what they print is what a Lambda's log stream would hold.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('"_aws"') || text.includes('correlation_id')) {
      lines.push(...text.split('\n').filter(Boolean));
      return true;
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  stack = await start(tempDataDir(), await freePorts(), {
    handlerLogLevel: 'INFO',
    environment: { POWERTOOLS_METRICS_DISABLED: 'false' },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  vi.restoreAllMocks();
});

const parsed = () =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe('metrics and correlation on the local stack', () => {
  it('an alert that opens an incident publishes IncidentsOpened, and its logs carry the incident id', async () => {
    const res = await postAlert(stack, sample);
    expect(res.status).toBe(201);
    const answer = (await res.json()) as { incidentId: string; world: string; severity: string };
    const { incidentId } = answer;

    const opened = parsed().filter(
      (o) => o[METRIC.incidentsOpened] === 1 && (o._aws as { CloudWatchMetrics: unknown[] } | undefined),
    );
    const directives = opened.map(
      (o) =>
        (o._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
          .CloudWatchMetrics[0],
    );
    expect(directives.every((d) => d?.Namespace === METRICS_NAMESPACE)).toBe(true);
    expect(opened.map((o) => [o.source, o.world, o.severity])).toEqual([
      [undefined, undefined, undefined],
      ['alertmanager', answer.world, answer.severity],
    ]);

    await waitFor('a log line correlated with the incident', async () =>
      parsed().some((o) => o.correlation_id === incidentId && o.message === 'Alert ingested')
        ? true
        : undefined,
    );
  });
});
