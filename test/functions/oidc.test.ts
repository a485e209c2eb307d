import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MutableToken } from 'oauth2-mock-server';
import { Events, OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcIdentityProvider } from '../../functions/adapters/oidc.ts';
import { pkceChallenge, pkceVerifier, randomToken, SignInError } from '../../functions/domain/session.ts';

const CLIENT = 'casebook-console';
const REDIRECT = 'http://127.0.0.1:9/auth/callback';
let server: OAuth2Server;
let provider: OidcIdentityProvider;

beforeAll(async () => {
  server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  provider = new OidcIdentityProvider({ issuer: server.issuer.url as string, clientId: CLIENT });
});
afterAll(() => server?.stop());

/** A code for one sign-in, as the browser would bring it back from the issuer. */
async function signInCode(): Promise<{ code: string; nonce: string; verifier: string }> {
  const nonce = randomToken();
  const verifier = pkceVerifier();
  const url = await provider.authorizationUrl({
    redirectUri: REDIRECT,
    state: randomToken(),
    nonce,
    codeChallenge: pkceChallenge(verifier),
  });
  const res = await fetch(url, { redirect: 'manual' });
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
  return { code, nonce, verifier };
}

/** Redeems a fresh code while `change` alters the ID token (only it: it carries the nonce). */
async function redeemWith(change?: (token: MutableToken) => void) {
  const { code, nonce, verifier } = await signInCode();
  const hook = (token: MutableToken) => {
    if ('nonce' in token.payload) change?.(token);
  };
  server.service.on(Events.BeforeTokenSigning, hook);
  try {
    return { claims: await provider.redeem({ code, verifier, redirectUri: REDIRECT }), nonce };
  } finally {
    server.service.off(Events.BeforeTokenSigning, hook);
  }
}

describe('the OpenID Connect issuer adapter', () => {
  it('sends S256 PKCE, state and nonce, and answers the checked ID token with its nonce', async () => {
    const url = new URL(
      await provider.authorizationUrl({ redirectUri: REDIRECT, state: 's', nonce: 'n', codeChallenge: 'c' }),
    );
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: CLIENT,
      code_challenge_method: 'S256',
      code_challenge: 'c',
      state: 's',
      nonce: 'n',
      scope: 'openid email profile',
    });
    const { claims, nonce } = await redeemWith();
    expect(claims.nonce).toBe(nonce);
    expect(typeof claims.sub).toBe('string');
  });

  it('refuses an ID token for another audience, from another issuer, expired, or signed by an unknown key', async () => {
    const cases: [string, (t: MutableToken) => void, RegExp][] = [
      ['audience', (t) => Object.assign(t.payload, { aud: 'someone-else' }), /aud/],
      ['issuer', (t) => Object.assign(t.payload, { iss: 'http://evil.example' }), /iss/],
      ['expired', (t) => Object.assign(t.payload, { exp: Math.floor(Date.now() / 1000) - 3600 }), /exp/],
      ['key', (t) => Object.assign(t.header, { kid: 'not-a-key-of-the-issuer' }), /key|JWKS/i],
    ];
    for (const [what, change, message] of cases) {
      const refused = await redeemWith(change).catch((error: unknown) => error);
      expect(refused, what).toBeInstanceOf(SignInError);
      expect((refused as Error).message, what).toMatch(message);
    }
  });

  it('refuses a code redeemed with another PKCE verifier', async () => {
    const { code } = await signInCode();
    await expect(provider.redeem({ code, verifier: pkceVerifier(), redirectUri: REDIRECT })).rejects.toThrow(
      SignInError,
    );
  });
});

describe('signing out at the issuer', () => {
  it('uses the end_session_endpoint the issuer publishes, with the post-logout redirect', async () => {
    const url = new URL((await provider.logoutUrl('http://127.0.0.1:9/auth/logout')) ?? '');
    expect(`${url.origin}${url.pathname}`).toBe(`${server.issuer.url}/endsession`);
    expect(url.searchParams.get('client_id')).toBe(CLIENT);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe('http://127.0.0.1:9/auth/logout');
  });

  it('uses the configured endpoint with client_id and logout_uri when the issuer publishes none (Cognito)', async () => {
    // Cognito's discovery document: no end_session_endpoint.
    const cognito = createServer((_req, res) => {
      const issuer = `http://127.0.0.1:${(cognito.address() as AddressInfo).port}`;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/oauth2/authorize`,
          token_endpoint: `${issuer}/oauth2/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
        }),
      );
    });
    await new Promise<void>((resolve) => cognito.listen(0, '127.0.0.1', resolve));
    try {
      const issuer = `http://127.0.0.1:${(cognito.address() as AddressInfo).port}`;
      const logoutEndpoint = 'https://casebook-123.auth.eu-west-1.amazoncognito.com/logout';
      const withEndpoint = new OidcIdentityProvider({ issuer, clientId: 'abc', logoutEndpoint });
      const url = new URL((await withEndpoint.logoutUrl('https://api.example.com/auth/logout')) ?? '');
      expect(`${url.origin}${url.pathname}`).toBe(logoutEndpoint);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        client_id: 'abc',
        logout_uri: 'https://api.example.com/auth/logout',
      });
      const without = new OidcIdentityProvider({ issuer, clientId: 'abc' });
      expect(await without.logoutUrl('https://api.example.com/auth/logout')).toBeUndefined();
    } finally {
      await new Promise((resolve) => cognito.close(resolve));
    }
  });
});
