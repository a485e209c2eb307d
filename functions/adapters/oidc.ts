/**
 * The OpenID Connect issuer the console signs people in with (a Cognito user pool on AWS,
 * oauth2-mock-server locally): its discovery document, the authorization URL, the code redeemed
 * at the token endpoint, and the ID token checked with `jose` against the issuer's JWKS.
 */
import type { JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as z from 'zod';
import type { IdentityProvider, IdTokenClaims } from '../domain/session.ts';
import { SignInError } from '../domain/session.ts';

export interface OidcSettings {
  /** The issuer identifier, exactly as its ID tokens' `iss` says it. */
  readonly issuer: string;
  readonly clientId: string;
  /** For a confidential client; a public client proves itself with PKCE alone. */
  readonly clientSecret?: string;
  /**
   * Where to end the issuer's own session when its discovery document names no
   * `end_session_endpoint`: a Cognito user pool's hosted UI `/logout`, which takes `client_id`
   * and `logout_uri` (one of the app client's sign-out URLs).
   */
  readonly logoutEndpoint?: string;
}

const discoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  end_session_endpoint: z.url().optional(),
});
type Discovery = z.infer<typeof discoverySchema>;

const tokenSchema = z.object({ id_token: z.string().min(1) });

/** How long a call to the issuer may take before the console gives up (the person may retry). */
const ISSUER_TIMEOUT_MS = 5_000;

export class OidcIdentityProvider implements IdentityProvider {
  #discovery?: Promise<Discovery>;
  #jwks?: JWTVerifyGetKey;

  private readonly settings: OidcSettings;

  constructor(settings: OidcSettings) {
    this.settings = settings;
  }

  /** Read once per cold start, and again after a failure (the issuer may have been down). */
  private discovery(): Promise<Discovery> {
    this.#discovery ??= (async () => {
      const url = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`OpenID discovery at ${url} answered ${res.status}`);
      const doc = discoverySchema.parse(await res.json());
      if (doc.issuer !== this.settings.issuer)
        throw new Error(`The issuer at ${url} calls itself ${doc.issuer}, not ${this.settings.issuer}`);
      return doc;
    })().catch((error: unknown) => {
      this.#discovery = undefined;
      throw error;
    });
    return this.#discovery;
  }

  async authorizationUrl(request: Parameters<IdentityProvider['authorizationUrl']>[0]): Promise<string> {
    const url = new URL((await this.discovery()).authorization_endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: request.redirectUri,
      scope: 'openid email profile',
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      ...(request.loginHint ? { login_hint: request.loginHint } : {}),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.href;
  }

  async redeem(request: Parameters<IdentityProvider['redeem']>[0]): Promise<IdTokenClaims> {
    const doc = await this.discovery();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: request.redirectUri,
      code_verifier: request.verifier,
      client_id: this.settings.clientId,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.settings.clientSecret) {
      const basic = `${encodeURIComponent(this.settings.clientId)}:${encodeURIComponent(this.settings.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    }
    const res = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS),
    });
    // A code refused (used twice, expired, a verifier that does not match) is the person's to retry.
    if (res.status >= 400 && res.status < 500) throw new SignInError('The issuer refused the sign-in code');
    if (!res.ok) throw new Error(`The issuer's token endpoint answered ${res.status}`);
    const tokens = tokenSchema.safeParse(await res.json());
    if (!tokens.success) throw new SignInError('The issuer sent no ID token');
    this.#jwks ??= createRemoteJWKSet(new URL(doc.jwks_uri));
    try {
      const { payload } = await jwtVerify(tokens.data.id_token, this.#jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.clientId,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: 30,
      });
      return payload as IdTokenClaims;
    } catch (error) {
      throw new SignInError(`The ID token is not valid (${(error as Error).message})`);
    }
  }

  async logoutUrl(postLogoutRedirectUri: string): Promise<string | undefined> {
    const doc = await this.discovery().catch(() => undefined);
    if (doc?.end_session_endpoint) {
      const url = new URL(doc.end_session_endpoint);
      url.searchParams.set('client_id', this.settings.clientId);
      url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
      return url.href;
    }
    if (!this.settings.logoutEndpoint) return undefined;
    const url = new URL(this.settings.logoutEndpoint);
    url.searchParams.set('client_id', this.settings.clientId);
    url.searchParams.set('logout_uri', postLogoutRedirectUri);
    return url.href;
  }
}
