/**
 * Use case: an incident's lifecycle execution stopped (the local Step Functions server restarted,
 * or on AWS an execution failed); start a new execution that continues from the recorded phase.
 *
 * Primary course:
 *  1. Load the incident; a closed or cancelled one has nothing to continue.
 *  2. If its current execution still runs, there is nothing to do.
 *  3. Unless a person asked for it, leave halted incidents (rejected plan, timed-out approvals,
 *     failed step) alone: they wait for a decision, not for a restart.
 *  4. Name the next execution on the incident first, then start it with `resumeFrom` (a repeated
 *     call finds the name and starts the same execution, idempotently).
 *  5. Record the resumption on the timeline.
 */
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import { nextExecutionName } from '../domain/incident.ts';
import type { Clock, IncidentStore, Workflow } from '../domain/ports.ts';

export interface ResumeDeps {
  readonly incidents: IncidentStore;
  readonly workflow: Workflow;
  readonly clock: Clock;
}

export type ResumeResult =
  | { readonly resumed: true; readonly executionName: string; readonly from: string }
  | { readonly resumed: false; readonly reason: string };

export async function resumeLifecycle(
  deps: ResumeDeps,
  incidentId: string,
  options: { readonly requestedBy: string; readonly includeHalted: boolean },
): Promise<ResumeResult> {
  // 1.
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${incidentId}`);
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') {
    return { resumed: false, reason: `it is ${incident.status}` };
  }

  // 2.
  const status = await deps.workflow.executionStatus(incident.executionName);
  if (status === 'RUNNING') return { resumed: false, reason: 'its execution is running' };

  // 3.
  if (incident.halted && !options.includeHalted) {
    return { resumed: false, reason: `halted (${incident.halted.reason}); waiting for a person` };
  }
  // An execution that ended without halting the incident finished its work.
  if (status === 'SUCCEEDED' && !incident.halted)
    return { resumed: false, reason: 'its execution succeeded' };

  // 4.
  const executionName = status === undefined ? incident.executionName : nextExecutionName(incident);
  const at = deps.clock.now().toISOString();
  if (executionName !== incident.executionName) {
    await deps.incidents.updateIncident(incident, { executionName, updatedAt: at });
  }
  await deps.workflow.start(executionName, { incidentId, resumeFrom: incident.phase });

  // 5.
  await deps.incidents.addTimelineEvent(incidentId, {
    key: `resumed:${executionName}`,
    at,
    world: 'RML2',
    type: 'lifecycle_resumed',
    phase: incident.phase,
    summary: `Lifecycle continued from ${incident.phase} as execution ${executionName} (${options.requestedBy}; previous execution ${status ?? 'never started'})`,
  });
  return { resumed: true, executionName, from: incident.phase };
}
