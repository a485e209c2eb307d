/**
 * How long the workroom takes to render for the 10,000-customer incident after Act, over the
 * 3-customer one, on the same stack in the same run (`casework.workroom_view_10k_vs_3`): a view
 * reads one page of the ledger and the effects' summary, never the whole ledger, so the two
 * should take about as long.
 */
import { RESPONDER, workLinks } from '../test/support/casework.ts';
import type { StackEndpoints } from '../test/support/local-stack.ts';

/** Loads of each workroom timed; the median counts. */
const LOADS = 15;

async function medianLoadMs(link: string): Promise<number> {
  const times: number[] = [];
  // The first load warms the function and the tables' caches for both incidents alike.
  for (let i = 0; i <= LOADS; i++) {
    const started = performance.now();
    const res = await fetch(link);
    if (res.status !== 200) throw new Error(`GET ${link} answered ${res.status}`);
    await res.text();
    if (i > 0) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export interface WorkroomViewTimes {
  readonly smallMs: number;
  readonly largeMs: number;
  readonly ratio: number;
}

/** The median time of a responder's workroom page (HTML) for each incident, and their ratio. */
export async function workroomViewTimes(
  stack: StackEndpoints,
  smallIncidentId: string,
  largeIncidentId: string,
): Promise<WorkroomViewTimes> {
  const small = (await workLinks(stack, smallIncidentId)).get(RESPONDER) as string;
  const large = (await workLinks(stack, largeIncidentId)).get(RESPONDER) as string;
  const smallMs = await medianLoadMs(small);
  const largeMs = await medianLoadMs(large);
  return { smallMs, largeMs, ratio: largeMs / smallMs };
}
