import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../functions/adapters/http.ts';
import type { ConsoleHandlerDeps } from '../../functions/console/console.ts';
import { makeConsoleHandler } from '../../functions/console/console.ts';
import type { IdentityProvider } from '../../functions/domain/session.ts';

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
});
