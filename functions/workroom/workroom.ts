/**
 * GET/HEAD /work/{linkId} and POST /work/{linkId}/{action}: a person's workroom. GET and HEAD only
 * show (mail scanners open links); each action is a POST — a form (answered 303 back to the page,
 * or the page again with what is wrong) or JSON and CSV from scripts (answered with JSON).
 */

import { documentClient, sesClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { recordAcknowledgement } from '../adapters/casebook-metrics.ts';
import {
  deadlineConfig,
  ledgerTableConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  optionalPublicBaseUrlConfig,
  pseudonymKeyConfig,
  respondersConfig,
} from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { DynamoDbWorkroom } from '../adapters/dynamodb-workroom.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { bodyBytes, errorToJson, failureStatus, header, html, json, jsonBody } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { pseudonymizer } from '../adapters/pseudonyms.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { decodeCustomerCsv } from '../domain/customers.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidInputError,
  NotFoundError,
} from '../domain/errors.ts';
import { LIMITS } from '../domain/limits.ts';
import { isWorkAction } from '../domain/workroom.ts';
import type { ActionBody, WorkroomDeps } from '../use-cases/workroom.ts';
import { act, viewWorkroom } from '../use-cases/workroom.ts';
import { FROM_FORM } from './forms.ts';
import { goneWorkroomPage, notFoundWorkroomPage, workroomPage } from './page.ts';

/** A customer reference as the list holds it: what a page cursor of the customer list may be. */
const CURSOR = /^[^#\s]{1,200}$/;
/** A ledger page's cursor: the seq of the last entry the page before showed. */
const LEDGER_CURSOR = /^[1-9]\d{0,14}$/;

export function makeWorkroomHandler(deps: WorkroomDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const linkId = event.pathParameters?.linkId ?? '';
    const action = event.pathParameters?.action;
    const type = header(event, 'content-type') ?? '';
    const wantsJson = /\bjson\b/i.test(header(event, 'accept') ?? '') || /\bjson\b|^text\/csv/i.test(type);
    const page = (status: number, body: string, headers: Record<string, string> = {}) =>
      html(status, method === 'HEAD' ? '' : body, headers);
    // A form's fields, so a page that says what was wrong shows what was typed.
    let posted: URLSearchParams | undefined;
    try {
      if (method === 'GET' || method === 'HEAD') {
        const cursor = event.queryStringParameters?.customers;
        if (cursor !== undefined && !CURSOR.test(cursor)) {
          throw new InvalidInputError({ field: 'customers', message: 'is not a cursor this page gave' });
        }
        const ledger = event.queryStringParameters?.ledger;
        if (ledger !== undefined && !LEDGER_CURSOR.test(ledger)) {
          throw new InvalidInputError({ field: 'ledger', message: 'is not a cursor this page gave' });
        }
        const view = await viewWorkroom(deps, linkId, {
          ...(cursor ? { customersCursor: cursor } : {}),
          ...(ledger ? { ledgerCursor: ledger } : {}),
        });
        if (wantsJson) return json(200, view);
        // Set by the redirect after a form post: which action the page confirms.
        const done = event.queryStringParameters?.done;
        return page(
          200,
          workroomPage(view, linkId, {
            ...(done && isWorkAction(done) ? { recorded: done } : {}),
            ...(ledger ? { ledgerPage: true } : {}),
          }),
        );
      }
      const request = await actionBody(event, action ?? '', type);
      posted = request.form;
      // On AWS the domain is API Gateway's (the API's own or its custom domain), never a header a client picks.
      const base = deps.publicBaseUrl ?? `https://${event.requestContext.domainName}`;
      const since = deps.clock.now();
      const result = await act({ ...deps, publicBaseUrl: base }, linkId, action ?? '', request.body);
      recordAcknowledgement(result.incident, since);
      logger.info('Workroom action', {
        incidentId: result.incident.id,
        action: result.action,
        resumedWorkflow: result.resumedWorkflow,
      });
      if (wantsJson) {
        const { id, status, phase, severity } = result.incident;
        return json(200, {
          action: result.action,
          incident: { id, status, phase, severity },
          resumedWorkflow: result.resumedWorkflow,
        });
      }
      const back = event.rawPath.replace(/\/[^/]+$/, '');
      return {
        statusCode: 303,
        headers: { location: `${back}?done=${result.action}`, 'cache-control': 'no-store' },
        body: '',
      };
    } catch (error) {
      if (wantsJson) return errorToJson(error);
      if (error instanceof NotFoundError) return page(404, notFoundWorkroomPage(error.message));
      if (error instanceof GoneError) return page(410, goneWorkroomPage(error.message));
      const status =
        error instanceof InvalidInputError
          ? 400
          : error instanceof ForbiddenError
            ? 403
            : error instanceof ConflictError
              ? 409
              : undefined;
      if (status) {
        // The page again, saying why nothing was recorded.
        const view = await viewWorkroom(deps, linkId).catch(() => undefined);
        const notes = {
          ...(action ? { action } : {}),
          ...(posted ? { posted } : {}),
          ...(error instanceof InvalidInputError
            ? { issues: error.issues }
            : { refused: (error as Error).message }),
        };
        return page(
          status,
          view ? workroomPage(view, linkId, notes) : notFoundWorkroomPage('No such workroom link'),
        );
      }
      const { statusCode, headers } = failureStatus(error, 'Workroom request failed');
      return page(
        statusCode,
        statusCode === 503
          ? '<!doctype html><p>A service Casebook depends on is unavailable. Try again shortly: what was recorded stays recorded.</p>'
          : '<!doctype html><p>Casebook failed on this request; the failure is logged.</p>',
        headers,
      );
    }
  };
}

/**
 * What the request carries for `action`: JSON, a CSV list, or a form read into JSON (and the
 * form's fields as posted).
 */
async function actionBody(
  event: HttpEvent,
  action: string,
  type: string,
): Promise<{ body: ActionBody; form?: URLSearchParams }> {
  const limit = action === 'customers' ? LIMITS.customerListBytes : LIMITS.bodyBytes;
  if (/\bjson\b/i.test(type)) return { body: { json: jsonBody(event, limit) } };
  if (/^text\/csv\b/i.test(type)) {
    // Bytes when the gateway passed them (base64), else text it already decoded.
    const bytes = bodyBytes(event, limit);
    return { body: { csv: decodeCustomerCsv(event.isBase64Encoded ? bytes : bytes.toString('utf8')) } };
  }
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type)) {
    throw new InvalidInputError({
      field: 'content-type',
      message: `must be a form, application/json or text/csv, not ${type || 'missing'}`,
    });
  }
  // The file may fill the limit; the form's own lines around it come on top.
  const envelope = action === 'customers' ? LIMITS.formEnvelopeBytes : 0;
  const form = await new Request('http://workroom.invalid/', {
    method: 'POST',
    headers: { 'content-type': type },
    body: new Uint8Array(bodyBytes(event, limit + envelope)),
  })
    .formData()
    .catch(() => {
      throw new InvalidInputError({ field: 'body', message: 'is not a form this content-type describes' });
    });
  if (action === 'customers') {
    const file = form.get('file');
    const csv =
      typeof file === 'string' || file === null
        ? decodeCustomerCsv(String(form.get('csv') ?? ''))
        : decodeCustomerCsv(new Uint8Array(await file.arrayBuffer()));
    if (Buffer.byteLength(csv) > limit)
      throw new InvalidInputError({ field: 'file', message: `must be at most ${limit} bytes` });
    return { body: { csv } };
  }
  const fields = new URLSearchParams();
  for (const [name, value] of form) if (typeof value === 'string') fields.append(name, value);
  return {
    body: { json: isWorkAction(action) && action !== 'customers' ? FROM_FORM[action](fields) : {} },
    form: fields,
  };
}

export function workroomDepsFromEnvironment(): WorkroomDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    pseudonymKeyConfig,
    respondersConfig,
    deadlineConfig,
    mailFromConfig,
    optionalPublicBaseUrlConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  const waits = new DynamoDbWaits(db, config.operationsTable);
  const workroom = new DynamoDbWorkroom(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    links: workroom,
    postmortems: workroom,
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    waits,
    questions: waits,
    workflow: new StepFunctionsWorkflow(sfnClient()),
    pseudonym: pseudonymizer(config.pseudonymKey),
    people: { responders: config.responders, sreLead: config.sreLead },
    mailer: new SesMailer(sesClient(), config.mailFrom),
    ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
    policy: config.deadlines,
    clock: systemClock,
  };
}
