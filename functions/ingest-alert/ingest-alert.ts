/** POST /webhooks/{source}: verify the sender, normalize the payload, open or fold an incident. */

import { documentClient, s3Client, sfnClient, systemClock } from '../adapters/aws.ts';
import { countIncidentOutcome } from '../adapters/casebook-metrics.ts';
import {
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  payloadBucketConfig,
  signingSecretsConfig,
  stateMachineConfig,
  webhookTokenConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { bodyBytes, bodyText, errorToJson, header, json, jsonBody, problem } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { openIncidentResponse, outcomeSummary } from '../adapters/open-incident-response.ts';
import { alertPolicyConfig } from '../adapters/rules-config.ts';
import { S3PayloadArchive } from '../adapters/s3-payload-archive.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { signingSecrets } from '../adapters/signing-secrets.ts';
import { webhookTokenVerifier } from '../adapters/webhook-token.ts';
import { checkNormalizedAlert } from '../domain/alert.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import type { PayloadArchive } from '../domain/ports.ts';
import { isIgnored } from '../domain/sources/ignored.ts';
import type { OpenIncidentDeps } from '../use-cases/open-incident.ts';
import { openIncident } from '../use-cases/open-incident.ts';
import type { SourceAuth } from './sources.ts';
import { alertSources } from './sources.ts';

export interface IngestDeps extends OpenIncidentDeps, SourceAuth {
  readonly payloads: PayloadArchive;
}

export function makeIngestHandler(deps: IngestDeps): (event: HttpEvent) => Promise<HttpResult> {
  const sources = alertSources(deps);
  return async (event) => {
    const name = event.pathParameters?.source ?? '';
    const source = sources.get(name);
    try {
      if (!source) {
        return problem(
          404,
          'unknown_source',
          `Unknown alert source; supported: ${[...sources.keys()].join(', ')}`,
        );
      }
      // Signatures cover the bytes as sent, so the sender is checked before the body is read as JSON.
      const verdict = await source.verify({
        body: bodyBytes(event),
        header: (headerName) => header(event, headerName),
        now: deps.clock.now(),
      });
      if (!verdict.ok) throw new UnauthorizedError(verdict.problem);
      const parsed = source.parse(jsonBody(event));
      if (isIgnored(parsed)) {
        logger.info('Alert notification ignored', { source: name, reason: parsed.reason });
        return json(202, { incidentId: null, outcome: 'ignored', reason: parsed.reason });
      }
      const alert = checkNormalizedAlert(parsed);
      const result = await openIncident(deps, alert, bodyText(event));
      countIncidentOutcome(name, result);
      logger.info('Alert ingested', {
        source: name,
        ...outcomeSummary(result),
        incidentId: 'incidentId' in result ? result.incidentId : null,
      });
      return openIncidentResponse(result);
    } catch (error) {
      if (error instanceof UnauthorizedError && source?.challenge) {
        const res = errorToJson(error);
        return { ...res, headers: { ...res.headers, 'www-authenticate': source.challenge } };
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
    signingSecretsConfig,
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
    secrets: signingSecrets(config.signingSecrets),
  };
}
