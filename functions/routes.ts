/**
 * The HTTP API's routes, defined once: the CDK app creates exactly these HTTP API routes and the
 * local gateway serves exactly these, both invoking the handler named by `fn`.
 */
import type { FunctionKey } from './catalog.ts';

export interface Route {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** API Gateway path syntax: `{name}` is a path parameter. */
  readonly path: string;
  readonly fn: FunctionKey;
  /**
   * Who may call it. `iam`: requests signed with SigV4 by an IAM principal (responders, finance
   * and auditors through the AWS CLI or SDK), checked by API Gateway. `handler`: callers that
   * cannot sign AWS requests, authenticated by the handler itself (a webhook bearer token, an
   * approval link's secret). The local gateway has no IAM and does not check `iam`.
   */
  readonly auth: 'iam' | 'handler';
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/webhooks/{source}', fn: 'ingestAlert', auth: 'handler' },
  { method: 'GET', path: '/incidents', fn: 'incidentsApi', auth: 'iam' },
  { method: 'GET', path: '/incidents/{incidentId}', fn: 'incidentsApi', auth: 'iam' },
  { method: 'GET', path: '/incidents/{incidentId}/case-file.yaml', fn: 'incidentsApi', auth: 'iam' },
  // Customer support and sales declare an incident from a complaint: people of the company, as above.
  { method: 'POST', path: '/incidents', fn: 'declareIncident', auth: 'iam' },
  // Responders and finance record what was done by hand: the same callers as the reads above.
  { method: 'POST', path: '/incidents/{incidentId}/ledger', fn: 'recordLedgerEntry', auth: 'iam' },
  // Mail scanners open links with GET and HEAD: both only ever show the case.
  { method: 'GET', path: '/approvals/{approvalId}', fn: 'approvalsPage', auth: 'handler' },
  { method: 'HEAD', path: '/approvals/{approvalId}', fn: 'approvalsPage', auth: 'handler' },
  { method: 'POST', path: '/approvals/{approvalId}', fn: 'approvalsPage', auth: 'handler' },
  // A person's workroom: GET and HEAD show it, each action is a POST of its own.
  { method: 'GET', path: '/work/{linkId}', fn: 'workroom', auth: 'handler' },
  { method: 'HEAD', path: '/work/{linkId}', fn: 'workroom', auth: 'handler' },
  { method: 'POST', path: '/work/{linkId}/{action}', fn: 'workroom', auth: 'handler' },
  { method: 'GET', path: '/effects/{questionId}', fn: 'effectQuestionsPage', auth: 'handler' },
  { method: 'HEAD', path: '/effects/{questionId}', fn: 'effectQuestionsPage', auth: 'handler' },
  { method: 'POST', path: '/effects/{questionId}', fn: 'effectQuestionsPage', auth: 'handler' },
  // The console is for the organisation's people in a browser: the handler checks the session
  // cookie (no authorizer can read a cookie and redirect) and sends anyone without one to sign in.
  { method: 'GET', path: '/', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/console/incidents/{incidentId}', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/console/incidents/{incidentId}/cost', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/console/incidents/{incidentId}/case-file.txt', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/auth/login', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/auth/callback', fn: 'console', auth: 'handler' },
  { method: 'GET', path: '/auth/logout', fn: 'console', auth: 'handler' },
  { method: 'POST', path: '/auth/logout', fn: 'console', auth: 'handler' },
];

/**
 * How many requests a second each route takes, steadily and in a burst: the HTTP API's `$default`
 * stage is created with these as its default route throttle, and the local gateway applies the same
 * token bucket, answering 429 past it as API Gateway does.
 */
export const API_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;
