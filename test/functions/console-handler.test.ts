import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../functions/adapters/http.ts';
import type { ConsoleHandlerDeps } from '../../functions/console/console.ts';
import { makeConsoleHandler } from '../../functions/console/console.ts';
import type { IdentityProvider } from '../../functions/domain/session.ts';
import { csrfToken, newSession, SESSION_COOKIE, sealSession } from '../../functions/domain/session.ts';

const KEY = randomBytes(32);
const NOW = new Date('2026-12-06T10:00:00Z');

/** An issuer that only says where to sign in: enough for the login route. */
const issuer: IdentityProvider = {
  authorizationUrl: async (r) => `https://login.example.com/authorize?state=${r.state}`,
  redeem: async () => {
    throw new Error('not used');
  },
  logoutUrl: async () => undefined,
};

function handler(publicBaseUrl?: string) {
  return makeConsoleHandler({
    identity: issuer,
    sessionKey: async () => KEY,
    clock: { now: () => NOW },
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
  } as unknown as ConsoleHandlerDeps);
}

function event(
  routeKey: string,
  rawPath: string,
  domainName = 'abc.execute-api.eu-west-1.amazonaws.com',
): HttpEvent {
  return {
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: {},
    requestContext: { domainName, http: { method: routeKey.split(' ')[0] } },
  } as unknown as HttpEvent;
}

describe('the console handler’s cookies', () => {
  it('are Secure when the console is served over https (on AWS, from the domain API Gateway answered on)', async () => {
    const res = await handler()(event('GET /auth/login', '/auth/login'));
    expect(res.statusCode).toBe(302);
    const [login] = res.cookies ?? [];
    expect(login).toMatch(
      /^casebook_login=[^;]+; Path=\/auth\/callback; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/,
    );
  });

  it('are not Secure over plain http (the local stack), where a Secure cookie would never come back', async () => {
    const res = await handler('http://127.0.0.1:3000')(event('GET /auth/login', '/auth/login'));
    expect(res.cookies?.[0]).not.toMatch(/Secure/);
    expect(res.cookies?.[0]).toMatch(/HttpOnly; SameSite=Lax$/);
  });

  it('send a request with no session to sign in without touching any store', async () => {
    const res = await handler()(event('GET /', '/'));
    expect(res.statusCode).toBe(302);
    expect(res.headers?.location).toBe('/auth/login?returnTo=%2F');
  });

  it('send a request with no session to sign in and back to the page asked for, when that page can be come back to', async () => {
    const asked = {
      ...event('GET /console/incidents/{incidentId}', '/console/incidents/INC-2026-0001'),
      rawQueryString: 'view=ledger',
    };
    const res = await handler()(asked);
    expect(res.headers?.location).toBe(
      `/auth/login?returnTo=${encodeURIComponent('/console/incidents/INC-2026-0001?view=ledger')}`,
    );
  });

  it('send a request with no session whose address is too long to come back to (a fuzzed 9,750 characters) to sign in and back to the list, in a header any client reads', async () => {
    const asked = {
      ...event('GET /console/incidents/{incidentId}/cost', `/console/incidents/${'%C3%A9'.repeat(625)}/cost`),
      rawQueryString: `cursor=${'%E2%80%AE'.repeat(666)}`,
    };
    const res = await handler()(asked);
    expect(res.statusCode).toBe(302);
    expect(res.headers?.location).toBe('/auth/login?returnTo=%2F');
    // The sign-in it is sent to takes that return address, where a long one was refused with a 400.
    const login = await handler()({
      ...event('GET /auth/login', '/auth/login'),
      queryStringParameters: { returnTo: '/' },
    } as HttpEvent);
    expect(login.statusCode).toBe(302);
  });
});

describe('signing out of the console', () => {
  const COGNITO_LOGOUT =
    'https://casebook-123.auth.eu-west-1.amazoncognito.com/logout?client_id=abc&logout_uri=https%3A%2F%2Fapi.example.com%2Fauth%2Flogout';
  const signOut = (logoutUrl: string | undefined) => {
    const session = newSession({ sub: 'ada', email: 'ada@example.com' }, NOW);
    const asked: string[] = [];
    const handle = makeConsoleHandler({
      identity: {
        ...issuer,
        logoutUrl: async (back: string) => {
          asked.push(back);
          return logoutUrl;
        },
      },
      sessionKey: async () => KEY,
      clock: { now: () => NOW },
      publicBaseUrl: 'https://api.example.com',
    } as unknown as ConsoleHandlerDeps);
    const res = handle({
      ...event('POST /auth/logout', '/auth/logout'),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      cookies: [`${SESSION_COOKIE}=${sealSession(KEY, session)}`],
      body: new URLSearchParams({ csrf: csrfToken(KEY, session) }).toString(),
      isBase64Encoded: false,
    } as unknown as HttpEvent);
    return { res, asked };
  };

  it('ends Casebook’s session and then the issuer’s (Cognito’s /logout), with no script', async () => {
    const { res, asked } = signOut(COGNITO_LOGOUT);
    const out = await res;
    expect(asked).toEqual(['https://api.example.com/auth/logout']);
    expect(out.statusCode).toBe(200);
    expect(out.cookies?.[0]).toMatch(/^casebook_session=; .*Max-Age=0/);
    const refresh = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(out.body ?? '')?.[1];
    expect(refresh?.replaceAll('&amp;', '&')).toBe(COGNITO_LOGOUT);
    expect(out.body).not.toContain('<script');
  });

  it('goes straight to the signed-out page when the issuer has no sign-out endpoint', async () => {
    const out = await signOut(undefined).res;
    expect(out.statusCode).toBe(303);
    expect(out.headers?.location).toBe('/auth/logout');
    expect(out.cookies?.[0]).toMatch(/^casebook_session=; .*Max-Age=0/);
  });
});
