/**
 * The incident console and its sign-in: `GET /`, `GET /console/incidents/{incidentId}` (its cost
 * and its case file as text), `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout` and
 * `GET /auth/logout`. An HTTP API route has one authorizer, a JWT authorizer cannot read cookies
 * and a Lambda authorizer cannot redirect, so this handler checks the session cookie itself: a
 * request without a good one (missing, expired, forged) is sent to sign in, never answered 5xx.
 */
import { readFileSync } from 'node:fs';
import { documentClient, systemClock } from '../adapters/aws.ts';
import {
  deadlineConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  optionalPublicBaseUrlConfig,
} from '../adapters/config.ts';
import { DynamoDbIncidentSummaries } from '../adapters/dynamodb-console.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../adapters/dynamodb-workroom.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { failureStatus, formBody, html } from '../adapters/http.ts';
import { OidcIdentityProvider } from '../adapters/oidc.ts';
import { readSecret } from '../adapters/secret-source.ts';
import { parseConsoleQuery } from '../domain/console.ts';
import { InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { escapeHtml as e } from '../domain/html.ts';
import type { IdentityProvider, Session } from '../domain/session.ts';
import {
  cookieHeader,
  cookieValue,
  csrfMatches,
  csrfToken,
  LOGIN_COOKIE,
  LOGIN_SECONDS,
  newLogin,
  newSession,
  openLogin,
  openSession,
  personFromIdToken,
  pkceChallenge,
  SESSION_COOKIE,
  SESSION_SECONDS,
  SignInError,
  safeReturnTo,
  sealLogin,
  sealSession,
} from '../domain/session.ts';
import { layout } from '../pages/layout.ts';
import type { ConsoleDeps } from '../use-cases/console.ts';
import { caseFileForConsole, caseForConsole, costForConsole, listForConsole } from '../use-cases/console.ts';
import { consoleCasePage, consoleCostPage, consoleNotFoundPage } from './case-page.ts';
import type { SessionKeySource } from './config.ts';
import { oidcConfig, sessionKeyConfig } from './config.ts';
import type { Viewer } from './list-page.ts';
import { consoleBadQueryPage, consoleListPage } from './list-page.ts';

export interface ConsoleHandlerDeps extends ConsoleDeps {
  readonly identity: IdentityProvider;
  /** The key session and sign-in cookies are signed with (at least 32 bytes). */
  readonly sessionKey: () => Promise<Buffer>;
  /** The console's base URL when configured; otherwise the domain API Gateway answered on. */
  readonly publicBaseUrl?: string;
}

/** A login hint longer than an e-mail address can be is no hint. */
const MAX_LOGIN_HINT = 254;

function baseUrlOf(deps: ConsoleHandlerDeps, event: HttpEvent): string {
  if (deps.publicBaseUrl) return deps.publicBaseUrl;
  return `https://${event.requestContext.domainName}`;
}

function redirect(location: string, cookies: string[] = [], status = 302): HttpResult {
  return { statusCode: status, headers: { location, 'cache-control': 'no-store' }, cookies, body: '' };
}

function textResult(status: number, body: string): HttpResult {
  return {
    statusCode: status,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
    body,
  };
}

/** The path and query a request asked for, to come back to once signed in. */
function requestedPath(event: HttpEvent): string {
  return event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath;
}

function signInAgainPage(message: string): string {
  return layout(
    'Sign-in failed — Casebook',
    `<h1>Sign-in did not finish</h1><p>${e(message)}.</p><p><a href="/auth/login">Sign in again</a></p>`,
  );
}

/** Casebook's session is over; the page moves on at once to end the issuer's too. */
function signingOutPage(issuerLogout: string): string {
  return layout(
    'Signing out — Casebook',
    `<h1>Signing you out</h1><p>Your Casebook session is over. Ending your session at your organisation’s sign-in page too…</p><p><a href="${e(issuerLogout)}">Continue</a></p>`,
  ).replace(
    '<meta charset="utf-8">',
    `<meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${e(issuerLogout)}">`,
  );
}

export function makeConsoleHandler(deps: ConsoleHandlerDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    try {
      const key = await deps.sessionKey();
      const now = deps.clock.now();
      const base = baseUrlOf(deps, event);
      const secure = base.startsWith('https://');
      const route = event.routeKey;
      const query = event.queryStringParameters ?? {};
      const session = openSession(key, cookieValue(event.cookies, SESSION_COOKIE), now);
      const clearSession = cookieHeader(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure });

      if (route === 'GET /auth/login') {
        const hint = query.login_hint;
        if (hint !== undefined && (hint.length === 0 || hint.length > MAX_LOGIN_HINT))
          throw new InvalidInputError({
            field: 'login_hint',
            message: `must be 1 to ${MAX_LOGIN_HINT} characters`,
          });
        // Only a path on this site: a sign-in must not end on a page elsewhere (an open redirect).
        if (query.returnTo !== undefined && safeReturnTo(query.returnTo) !== query.returnTo)
          throw new InvalidInputError({
            field: 'returnTo',
            message: 'must be a path on this site, such as /',
          });
        const login = newLogin(query.returnTo ?? '/', now);
        const location = await deps.identity.authorizationUrl({
          redirectUri: `${base}/auth/callback`,
          state: login.state,
          nonce: login.nonce,
          codeChallenge: pkceChallenge(login.verifier),
          ...(hint ? { loginHint: hint } : {}),
        });
        return redirect(location, [
          cookieHeader(LOGIN_COOKIE, sealLogin(key, login), {
            maxAgeSeconds: LOGIN_SECONDS,
            secure,
            path: '/auth/callback',
          }),
        ]);
      }

      if (route === 'GET /auth/callback') {
        const clearLogin = cookieHeader(LOGIN_COOKIE, '', {
          maxAgeSeconds: 0,
          secure,
          path: '/auth/callback',
        });
        try {
          if (query.error) throw new SignInError(`The issuer answered ${query.error}`);
          const login = openLogin(key, cookieValue(event.cookies, LOGIN_COOKIE), query.state, now);
          if (!query.code) throw new InvalidInputError({ field: 'code', message: 'is required' });
          const claims = await deps.identity.redeem({
            code: query.code,
            verifier: login.verifier,
            redirectUri: `${base}/auth/callback`,
          });
          const fresh = newSession(personFromIdToken(claims, login), now);
          return redirect(login.returnTo, [
            clearLogin,
            cookieHeader(SESSION_COOKIE, sealSession(key, fresh), { maxAgeSeconds: SESSION_SECONDS, secure }),
          ]);
        } catch (error) {
          if (!(error instanceof SignInError)) throw error;
          return { ...html(400, signInAgainPage(error.message)), cookies: [clearLogin] };
        }
      }

      if (route === 'POST /auth/logout') {
        // Only the session's own form may sign it out: a page elsewhere cannot sign a person out,
        // and a session already over has nothing to end (the page says to sign in).
        const form = formBody(event);
        if (!session || !csrfMatches(key, session, form.csrf))
          throw new InvalidInputError({
            field: 'csrf',
            message: session
              ? 'does not match this session; reload the page'
              : 'belongs to no session: this browser is signed out already',
          });
        // Casebook's own session ends here, then the issuer's, which sends the browser back to the
        // signed-out page. A form's redirect to another origin is refused by the pages'
        // form-action policy, so the issuer is reached by a page that refreshes to it (no script).
        const issuerLogout = await deps.identity.logoutUrl(`${base}/auth/logout`);
        if (!issuerLogout) return redirect('/auth/logout', [clearSession], 303);
        return {
          ...html(200, signingOutPage(issuerLogout), { 'cache-control': 'no-store' }),
          cookies: [clearSession],
        };
      }

      if (route === 'GET /auth/logout') {
        return {
          ...html(
            200,
            layout(
              'Signed out — Casebook',
              '<h1>You are signed out</h1><p><a href="/auth/login">Sign in again</a></p>',
            ),
          ),
          cookies: [clearSession],
        };
      }

      if (!session) {
        // A path sign-in would not come back to (too long, or not this site's) returns to the list,
        // so the redirect stays a header any client reads and the login route does not refuse it.
        const to = `/auth/login?returnTo=${encodeURIComponent(safeReturnTo(requestedPath(event)))}`;
        // A cookie that was there but is no good is cleared, so the browser stops sending it.
        return redirect(to, cookieValue(event.cookies, SESSION_COOKIE) ? [clearSession] : []);
      }
      return await consoleView(deps, event, session, key);
    } catch (error) {
      if (error instanceof InvalidInputError)
        return html(
          400,
          layout(
            'Bad request — Casebook',
            `<h1>Bad request</h1><ul>${error.issues.map((i) => `<li><strong>${e(i.field)}</strong> ${e(i.message)}</li>`).join('')}</ul><p><a href="/">Back to the console</a></p>`,
          ),
        );
      const { statusCode, headers } = failureStatus(error, 'Console request failed');
      const message =
        statusCode === 503
          ? 'A service Casebook depends on is unavailable. Try again shortly.'
          : 'Casebook failed on this request; the failure is logged.';
      return html(statusCode, `<!doctype html><p>${message}</p>`, headers);
    }
  };
}

/** The pages behind the sign-in. */
async function consoleView(
  deps: ConsoleHandlerDeps,
  event: HttpEvent,
  session: Session,
  key: Buffer,
): Promise<HttpResult> {
  const now = deps.clock.now();
  const viewer: Viewer = { who: session.email ?? session.sub, csrf: csrfToken(key, session) };
  const id = event.pathParameters?.incidentId ?? '';
  try {
    if (event.routeKey === 'GET /console/incidents/{incidentId}/case-file.txt')
      return textResult(200, await caseFileForConsole(deps, id));
    if (event.routeKey === 'GET /console/incidents/{incidentId}') {
      const ledger = event.queryStringParameters?.ledger;
      const c = await caseForConsole(deps, id, ledger !== undefined ? { ledgerCursor: ledger } : {});
      return html(200, consoleCasePage(c, viewer, now));
    }
    if (event.routeKey === 'GET /console/incidents/{incidentId}/cost')
      return html(200, consoleCostPage(await costForConsole(deps, id), viewer));
    const raw = event.queryStringParameters ?? {};
    let query: ReturnType<typeof parseConsoleQuery>;
    try {
      query = parseConsoleQuery(raw);
    } catch (error) {
      if (error instanceof InvalidInputError)
        return html(400, consoleBadQueryPage(error.issues, raw, viewer));
      throw error;
    }
    return html(200, consoleListPage(await listForConsole(deps, query), viewer, now));
  } catch (error) {
    if (error instanceof NotFoundError) {
      return event.routeKey.endsWith('.txt')
        ? textResult(404, `No incident ${id}\n`)
        : html(404, consoleNotFoundPage(id, viewer));
    }
    throw error;
  }
}

/** The session key, read once: a local file (made by the local stack) or a Secrets Manager secret. */
function sessionKeyReader(source: SessionKeySource): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  const read = async () => {
    const text =
      source.kind === 'file'
        ? readFileSync(source.path, 'utf8').trim()
        : await readSecret(source.source, 'console session key');
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length < 32) throw new Error('The console session key must be at least 32 bytes (base64url)');
    return bytes;
  };
  return () => {
    key ??= read().catch((error: unknown) => {
      key = undefined;
      throw error;
    });
    return key;
  };
}

export function consoleDepsFromEnvironment(): ConsoleHandlerDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    deadlineConfig,
    optionalPublicBaseUrlConfig,
    oidcConfig,
    sessionKeyConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    summaries: new DynamoDbIncidentSummaries(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    postmortems: new DynamoDbWorkroom(db, config.operationsTable),
    policy: config.deadlines,
    clock: systemClock,
    identity: new OidcIdentityProvider(config.oidc),
    sessionKey: sessionKeyReader(config.sessionKey),
    ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
  };
}
