/**
 * An incident taken straight to Decide on a running stack — customers and a sealed plan written to
 * its tables as the workroom would, then its execution started at Decide — and every approver of
 * round 1 approving: what end-to-end tests of Act need before Act runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { pseudonymizer } from '../../functions/adapters/pseudonyms.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import type { Customer } from '../../functions/domain/plan.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { StackEndpoints } from './local-stack.ts';
import { approvalLinks, approve } from './local-stack.ts';

type PlanInput = Parameters<typeof submitPlan>[2];

/** Writes `incident`, its customers and `plan`, starts its execution at Decide, and approves round 1. */
export async function approvedForAct(
  stack: StackEndpoints,
  dataDir: string,
  incident: Incident,
  customers: readonly Customer[],
  plan: PlanInput,
): Promise<void> {
  const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }));
  const store = new DynamoDbOperationsStore(db, stack.tables.operations);
  const effects = new DynamoDbEffectStore(db, stack.tables.operations);
  await store.createIncident(incident);
  await recordCustomers({ effects, incidents: store }, incident, customers);
  const pseudonym = pseudonymizer({
    kind: 'value',
    value: readFileSync(join(dataDir, 'keys', 'pseudonym.key'), 'utf8').trim(),
  });
  await submitPlan(
    { incidents: store, effects, pseudonym, clock: { now: () => new Date() } },
    incident.id,
    plan,
    'sre@example.com',
  );
  db.destroy();
  const sfn = new SFNClient({ ...aws, endpoint: stack.endpoints.stepFunctions });
  await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: incident.id,
      input: JSON.stringify({ incidentId: incident.id, resumeFrom: 'Decide' }),
    }),
  );
  sfn.destroy();
  for (const [role, link] of await approvalLinks(stack, incident.id, 1)) {
    const res = await approve(link, `ok from ${role}`);
    if (res.status !== 303) throw new Error(`approving as ${role} answered ${res.status}`);
  }
}
