/**
 * GET /incidents (newest first), GET /incidents/{incidentId} (the case as JSON) and
 * GET /incidents/{incidentId}/case-file.yaml (its case file, seed 000 §4).
 */
import { documentClient, systemClock } from '../adapters/aws.ts';
import { deadlineConfig, ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../adapters/dynamodb-workroom.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { errorToJson, json } from '../adapters/http.ts';
import { InvalidInputError } from '../domain/errors.ts';
import { LIMITS } from '../domain/limits.ts';
import type { ReadIncidentsDeps } from '../use-cases/read-incidents.ts';
import { getCase, getCaseFile, listIncidents } from '../use-cases/read-incidents.ts';

/** `?limit=`: decimal digits only (no `0x10`, ` 5`, `1e2`, `+5`), within the page-size range. */
function limitOf(raw: string | undefined): number {
  const { min, max } = LIMITS.pageSize;
  if (raw === undefined) return LIMITS.pageSize.default;
  const n = /^[1-9]\d{0,2}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new InvalidInputError({
      field: 'limit',
      message: `must be a decimal whole number from ${min} to ${max}`,
    });
  }
  return n;
}

export function makeIncidentsApiHandler(deps: ReadIncidentsDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const id = event.pathParameters?.incidentId;
      if (id && event.routeKey.endsWith('/case-file.yaml')) {
        return {
          statusCode: 200,
          headers: { 'content-type': 'application/yaml; charset=utf-8', 'cache-control': 'no-store' },
          body: await getCaseFile(deps, id),
        };
      }
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
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, deadlineConfig]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    postmortems: new DynamoDbWorkroom(db, config.operationsTable),
    policy: config.deadlines,
    clock: systemClock,
  };
}
