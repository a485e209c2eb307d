/**
 * POST /incidents/{incidentId}/ledger: a person records a manual or admin operation, a cost, or a
 * refund, credit or correction done outside Casebook (JSON body, `Idempotency-Key` header).
 * 201 with the entry; 200 with the first entry for a retry; 400 naming every bad field, with
 * nothing written; 404 for an unknown incident; 409 for a key reused for another entry.
 */
import { documentClient, systemClock } from '../adapters/aws.ts';
import {
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  pseudonymKeyConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { errorToJson, header, iamPrincipal, json, jsonBody } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { pseudonymizer } from '../adapters/pseudonyms.ts';
import type { InputIssue } from '../domain/errors.ts';
import { InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { isIncidentId } from '../domain/incident.ts';
import type { ManualEntry } from '../domain/manual-entry.ts';
import { parseManualEntry } from '../domain/manual-entry.ts';
import type { RecordLedgerEntryDeps } from '../use-cases/record-ledger-entry.ts';
import { recordLedgerEntry } from '../use-cases/record-ledger-entry.ts';

/** Like Stripe's: visible ASCII, at most 255 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The key and the entry, or one 400 naming everything wrong with both. */
function readRequest(event: HttpEvent): { idempotencyKey: string; entry: ManualEntry } {
  const issues: InputIssue[] = [];
  const key = header(event, 'idempotency-key');
  if (key === undefined || !IDEMPOTENCY_KEY.test(key)) {
    issues.push({
      field: 'Idempotency-Key',
      message:
        key === undefined
          ? 'is required: a key of your own per entry, sent again unchanged when you retry'
          : 'must be 1 to 255 visible ASCII characters',
    });
  }
  let entry: ManualEntry | undefined;
  try {
    entry = parseManualEntry(jsonBody(event));
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0 || !entry || key === undefined) throw new InvalidInputError(issues);
  return { idempotencyKey: key, entry };
}

export function makeRecordLedgerEntryHandler(
  deps: RecordLedgerEntryDeps,
): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const incidentId = event.pathParameters?.incidentId ?? '';
      if (!isIncidentId(incidentId)) throw new NotFoundError(`No incident ${incidentId}`);
      const request = readRequest(event);
      const principal = iamPrincipal(event);
      const { created, entry } = await recordLedgerEntry(deps, {
        incidentId,
        ...request,
        ...(principal ? { principal } : {}),
      });
      logger.info('Manual ledger entry recorded', { incidentId, seq: entry.seq, kind: entry.kind, created });
      return json(created ? 201 : 200, entry);
    } catch (error) {
      return errorToJson(error);
    }
  };
}

export function recordLedgerEntryDepsFromEnvironment(): RecordLedgerEntryDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, pseudonymKeyConfig]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    pseudonym: pseudonymizer(config.pseudonymKey),
    clock: systemClock,
  };
}
