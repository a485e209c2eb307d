/**
 * POST /incidents: customer support or sales declares an incident from a customer complaint
 * (seed 000 §2.1). It opens exactly as an alert does — same use case, same lifecycle — with the
 * CS ticket as its correlation key: 201 with the new incident, 200 with the one the ticket already
 * opened, 202 when the declaration names a world that is not an incident here; 400 naming every
 * bad field, with nothing written.
 */
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import {
  alertPolicyConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  stateMachineConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { errorToJson, iamPrincipal, jsonBody } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { openIncidentResponse, outcomeSummary } from '../adapters/open-incident-response.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { checkNormalizedAlert } from '../domain/alert.ts';
import { parseDeclaration } from '../domain/sources/declaration.ts';
import type { OpenIncidentDeps } from '../use-cases/open-incident.ts';
import { openIncident } from '../use-cases/open-incident.ts';

export function makeDeclareIncidentHandler(
  deps: OpenIncidentDeps,
): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const principal = iamPrincipal(event);
      const declared = parseDeclaration(jsonBody(event), {
        at: deps.clock.now().toISOString(),
        ...(principal ? { principal } : {}),
      });
      const result = await openIncident(deps, checkNormalizedAlert(declared));
      logger.info('Incident declared', {
        ...outcomeSummary(result),
        incidentId: 'incidentId' in result ? result.incidentId : null,
      });
      return openIncidentResponse(result);
    } catch (error) {
      return errorToJson(error);
    }
  };
}

/** Dependencies from the environment, built once per cold start. */
export function declareIncidentDepsFromEnvironment(): OpenIncidentDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    stateMachineConfig,
    alertPolicyConfig,
  ]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    workflow: new StepFunctionsWorkflow(sfnClient(), config.stateMachineArn),
    clock: systemClock,
    alertPolicy: config.alertPolicy,
  };
}
