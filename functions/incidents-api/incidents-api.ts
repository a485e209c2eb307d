/** GET /incidents (newest first) and GET /incidents/{incidentId} (the case as JSON). */
import { documentClient } from '../adapters/aws.ts';
import { ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { errorToJson, json } from '../adapters/http.ts';
import { InvalidInputError } from '../domain/errors.ts';
import type { ReadIncidentsDeps } from '../use-cases/read-incidents.ts';
import { getCase, listIncidents } from '../use-cases/read-incidents.ts';

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 200) {
    throw new InvalidInputError({ field: 'limit', message: 'must be a whole number from 1 to 200' });
  }
  return n;
}

export function makeIncidentsApiHandler(deps: ReadIncidentsDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const id = event.pathParameters?.incidentId;
      if (id) return json(200, await getCase(deps, id));
      const query = event.queryStringParameters ?? {};
      const page = await listIncidents(deps, limitOf(query.limit), query.cursor);
      return json(200, { incidents: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) });
    } catch (error) {
      return errorToJson(error);
    }
  };
}

export function incidentsApiDepsFromEnvironment(): ReadIncidentsDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
  };
}
