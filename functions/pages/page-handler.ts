/**
 * The one shape of every page behind an e-mailed link (approvals, questions about effects): GET and
 * HEAD only show (mail scanners open links), POST acts and answers 303 to the page, so a refresh
 * never posts again. A bad form comes back 400 with what was typed and what is wrong, a conflict
 * 409, a link whose time is over 410, an unknown link 404 (one answer for malformed, unknown and
 * forged links), an outage 503. The form is read when the route asks for it, so a route may
 * answer 409 or 410 whatever was posted.
 */

import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { failureStatus, formBody, html } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { correlate } from '../adapters/observability.ts';
import type { InputIssue } from '../domain/errors.ts';
import { ConflictError, GoneError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { escapeHtml } from '../domain/html.ts';
import { layout } from './layout.ts';

/** Where a request came from, as API Gateway saw it. */
export interface PageClient {
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The domain API Gateway answered on (the API's own or its custom domain): links are built on it. */
  readonly domainName: string;
}

/** What a page shows besides its view: why nothing was recorded, and what was typed. */
export interface PageNotes {
  readonly issues?: readonly InputIssue[];
  readonly conflict?: string;
  readonly form?: Readonly<Record<string, string>>;
}

export interface PageRoute<V> {
  /** The path parameter that holds the link id. */
  readonly param: string;
  /** Names the page in the log line of a failure. */
  readonly what: string;
  /** The log line of a successful post (`Approval decided`). */
  readonly posted: string;
  readonly view: (id: string) => Promise<V>;
  readonly render: (view: V, notes?: PageNotes) => string;
  /** Acts on the posted form (read by `form()`, which throws a 400 for a body that is no form); answers what to log. */
  readonly post: (
    id: string,
    form: () => Record<string, string>,
    client: PageClient,
  ) => Promise<Record<string, unknown>>;
  readonly notFound: () => string;
}

export function makePageHandler<V>(route: PageRoute<V>): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const id = event.pathParameters?.[route.param] ?? '';
    const respond = (status: number, body: string, headers: Record<string, string> = {}): HttpResult =>
      html(status, method === 'HEAD' ? '' : body, headers);
    try {
      if (method === 'GET' || method === 'HEAD') return respond(200, route.render(await route.view(id)));
      let fields: Record<string, string> = {};
      const form = () => {
        fields = formBody(event);
        return fields;
      };
      const client = {
        sourceIp: event.requestContext.http.sourceIp,
        userAgent: event.requestContext.http.userAgent,
        domainName: event.requestContext.domainName,
      };
      try {
        const posted = await route.post(id, form, client);
        // The link names no incident; the answer does, and the log line says it as its correlation id.
        if (typeof posted.incidentId === 'string') correlate(posted.incidentId);
        logger.info(route.posted, posted);
        return {
          statusCode: 303,
          headers: { location: event.rawPath, 'cache-control': 'no-store' },
          body: '',
        };
      } catch (error) {
        if (error instanceof InvalidInputError)
          return respond(400, route.render(await route.view(id), { issues: error.issues, form: fields }));
        if (error instanceof ConflictError)
          return respond(409, route.render(await route.view(id), { conflict: error.message }));
        if (error instanceof GoneError) {
          const view = await route.view(id).catch((e: unknown) => {
            if (e instanceof GoneError) return undefined;
            throw e;
          });
          return respond(
            410,
            view ? route.render(view, { conflict: error.message }) : gonePage(error.message),
          );
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof NotFoundError) return respond(404, route.notFound());
      // A link whose time is over, found so before any view could be read.
      if (error instanceof GoneError) return respond(410, gonePage(error.message));
      const { statusCode, headers } = failureStatus(error, `${route.what} failed`);
      const message =
        statusCode === 503
          ? 'A service Casebook depends on is unavailable. Try again shortly: what was recorded stays recorded.'
          : 'Casebook failed on this request; the failure is logged.';
      return respond(statusCode, `<!doctype html><p>${message}</p>`, headers);
    }
  };
}

function gonePage(message: string): string {
  return layout('Link no longer works', `<h1>This link no longer works</h1><p>${escapeHtml(message)}.</p>`);
}
