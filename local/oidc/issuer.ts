/**
 * The local OpenID Connect issuer: oauth2-mock-server, signing ID tokens with a key kept under the
 * data directory (`keys/oidc-issuer.json`, mode 600), so a restart keeps the same JWKS. It signs
 * in whoever is asked for: the authorization request's `login_hint` becomes the ID token's `sub`
 * and `email` (and userinfo's). It answers at once, with no page of its own.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  MutableRedirectUri,
  MutableResponse,
  MutableToken,
  TokenRequestIncomingMessage,
} from 'oauth2-mock-server';
import { Events, OAuth2Server } from 'oauth2-mock-server';

/** Who is signed in when the request names nobody. */
export const DEFAULT_LOCAL_USER = 'responder@casebook.local';

/** The client id the local console is registered under (any id works; the console checks `aud`). */
export const LOCAL_CLIENT_ID = 'casebook-console';

export interface LocalIssuer {
  /** The issuer identifier, `http://127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

async function loadOrMakeKey(server: OAuth2Server, keyFile: string): Promise<void> {
  if (existsSync(keyFile)) {
    for (const jwk of JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>[])
      await server.issuer.keys.add(jwk);
    return;
  }
  await server.issuer.keys.generate('RS256');
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, `${JSON.stringify(server.issuer.keys.toJSON(true))}\n`, { mode: 0o600 });
}

/** Starts the issuer on 127.0.0.1:`port` (0: any free port). */
export async function startLocalIssuer(options: {
  readonly port: number;
  readonly keyFile: string;
}): Promise<LocalIssuer> {
  const server = new OAuth2Server();
  await loadOrMakeKey(server, options.keyFile);
  // The person each authorization code was issued for, until the code is redeemed.
  const hints = new Map<string, string>();
  server.service.on(Events.BeforeAuthorizeRedirect, (redirect: MutableRedirectUri, req) => {
    const code = redirect.url.searchParams.get('code');
    const hint = new URL(req.url ?? '/', 'http://issuer').searchParams.get('login_hint');
    if (code) hints.set(code, hint || DEFAULT_LOCAL_USER);
  });
  server.service.on(Events.BeforeTokenSigning, (token: MutableToken, req: TokenRequestIncomingMessage) => {
    const code = typeof req.body?.code === 'string' ? req.body.code : undefined;
    const who = (code && hints.get(code)) || DEFAULT_LOCAL_USER;
    token.payload.sub = who;
    token.payload.email = who;
    token.payload.email_verified = true;
  });
  server.service.on(Events.BeforeResponse, (_response: MutableResponse, req: TokenRequestIncomingMessage) => {
    const code = typeof req.body?.code === 'string' ? req.body.code : undefined;
    if (code) hints.delete(code);
  });
  server.service.on(Events.BeforeUserinfo, (response: MutableResponse, req) => {
    const bearer = /^Bearer\s+([^.]+)\.([^.]+)\./.exec(String(req.headers.authorization ?? ''));
    if (!bearer?.[2]) return;
    const claims = JSON.parse(Buffer.from(bearer[2], 'base64url').toString('utf8')) as { sub?: string };
    if (claims.sub) response.body = { sub: claims.sub, email: claims.sub, email_verified: true };
  });
  await server.start(options.port, '127.0.0.1');
  // The library names itself `localhost`; everything else local is 127.0.0.1, and `iss` must be
  // exactly the address the console is configured with.
  const url = `http://127.0.0.1:${server.address().port}`;
  server.issuer.url = url;
  return { url, close: () => server.stop() };
}
