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

/**
 * A whole-number query parameter: decimal digits only (no `0x10`, ` 5`, `1e2`, `+5`, `05`),
 * within its range; absent, its default.
 */
function wholeNumber(
  field: string,
  raw: string | undefined,
  range: { readonly min: number; readonly max: number; readonly default?: number },
): number | undefined {
  if (raw === undefined) return range.default;
  const n = /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new InvalidInputError({
      field,
      message: `must be a decimal whole number from ${range.min} to ${range.max}`,
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
      const query = event.queryStringParameters ?? {};
      if (id) {
        const from = wholeNumber('ledgerFrom', query.ledgerFrom, { min: 1, max: Number.MAX_SAFE_INTEGER });
        const limit = wholeNumber('ledgerLimit', query.ledgerLimit, LIMITS.ledgerPageSize) as number;
        return json(200, await getCase(deps, id, { limit, ...(from ? { from } : {}) }));
      }
      const limit = wholeNumber('limit', query.limit, LIMITS.pageSize) as number;
      const page = await listIncidents(deps, limit, query.cursor);
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
