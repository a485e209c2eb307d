/** POST /webhooks/{source}: verify the sender, normalize the payload, open or fold an incident. */

import { documentClient, s3Client, sfnClient, systemClock } from '../adapters/aws.ts';
import {
  alertPolicyConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  payloadBucketConfig,
  stateMachineConfig,
  webhookTokenConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { bodyText, errorToJson, header, jsonBody, problem } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { openIncidentResponse, outcomeSummary } from '../adapters/open-incident-response.ts';
import { S3PayloadArchive } from '../adapters/s3-payload-archive.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { bearerToken, webhookTokenVerifier } from '../adapters/webhook-token.ts';
import type { NormalizedAlert } from '../domain/alert.ts';
import { checkNormalizedAlert } from '../domain/alert.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import type { PayloadArchive } from '../domain/ports.ts';
import { parseAlertmanagerWebhook } from '../domain/sources/alertmanager.ts';
import type { OpenIncidentDeps } from '../use-cases/open-incident.ts';
import { openIncident } from '../use-cases/open-incident.ts';

export interface IngestDeps extends OpenIncidentDeps {
  readonly payloads: PayloadArchive;
  readonly verifyToken: (presented: string | undefined) => Promise<boolean>;
}

/**
 * Sources this version accepts, each with its payload parser. A Map, not an object literal: the
 * source comes from the path, and `/webhooks/constructor` must not find Object.prototype's members.
 */
const SOURCES: ReadonlyMap<string, (body: unknown) => NormalizedAlert> = new Map([
  ['alertmanager', parseAlertmanagerWebhook],
]);

export function makeIngestHandler(deps: IngestDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const source = event.pathParameters?.source ?? '';
      const parse = SOURCES.get(source);
      if (!parse) {
        return problem(
          404,
          'unknown_source',
          `Unknown alert source; supported: ${[...SOURCES.keys()].join(', ')}`,
        );
      }
      if (!(await deps.verifyToken(bearerToken(header(event, 'authorization'))))) {
        throw new UnauthorizedError('Missing or wrong bearer token');
      }
      const alert = checkNormalizedAlert(parse(jsonBody(event)));
      const result = await openIncident(deps, alert, bodyText(event));
      logger.info('Alert ingested', {
        source,
        ...outcomeSummary(result),
        incidentId: 'incidentId' in result ? result.incidentId : null,
      });
      return openIncidentResponse(result);
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        return {
          ...errorToJson(error),
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
        };
      }
      return errorToJson(error);
    }
  };
}

/** Dependencies from the environment, built once per cold start. */
export function ingestDepsFromEnvironment(): IngestDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    stateMachineConfig,
    webhookTokenConfig,
    payloadBucketConfig,
    alertPolicyConfig,
  ]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    workflow: new StepFunctionsWorkflow(sfnClient(), config.stateMachineArn),
    payloads: new S3PayloadArchive(s3Client(), config.payloadBucket),
    clock: systemClock,
    alertPolicy: config.alertPolicy,
    verifyToken: webhookTokenVerifier(config.webhookToken),
  };
}
