/**
 * The one shape of every page behind an e-mailed link (approvals, questions about effects): GET and
 * HEAD only show (mail scanners open links), POST acts and answers 303 to the page, so a refresh
 * never posts again. A bad form comes back 400 with what was typed and what is wrong, a conflict
 * 409, an unknown link 404 (one answer for malformed, unknown and forged links), an outage 503.
 */
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { failureStatus, formBody, html } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import type { InputIssue } from '../domain/errors.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.ts';

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
  /** Acts on the posted form; answers what to log. */
  readonly post: (id: string, fields: Record<string, string>) => Promise<Record<string, unknown>>;
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
      try {
        fields = formBody(event);
        logger.info(route.posted, await route.post(id, fields));
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
        throw error;
      }
    } catch (error) {
      if (error instanceof NotFoundError) return respond(404, route.notFound());
      const { statusCode, headers } = failureStatus(error, `${route.what} failed`);
      const message =
        statusCode === 503
          ? 'A service Casebook depends on is unavailable. Try again shortly: what was recorded stays recorded.'
          : 'Casebook failed on this request; the failure is logged.';
      return respond(statusCode, `<!doctype html><p>${message}</p>`, headers);
    }
  };
}
