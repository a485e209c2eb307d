/**
 * Signing in to the console with OpenID Connect, the parts Casebook checks itself: the PKCE
 * verifier and its S256 challenge, the state and nonce of one sign-in, the signed cookies that
 * carry a sign-in under way and a session, and the CSRF token of a session's forms. Pure: the key
 * and the clock are the caller's; the issuer is reached through {@link IdentityProvider}.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's session cookie; `__Host-` would forbid it on http://127.0.0.1, so it is plain. */
export const SESSION_COOKIE = 'casebook_session';
/** The cookie that carries one sign-in under way (state, nonce, PKCE verifier) to the callback. */
export const LOGIN_COOKIE = 'casebook_login';

/** How long a session lasts: a working day, after which the person signs in again. */
export const SESSION_SECONDS = 8 * 60 * 60;
/** How long a person has to finish signing in at the issuer. */
export const LOGIN_SECONDS = 10 * 60;

/** Who is signed in, as the issuer's ID token said. */
export interface SignedInPerson {
  /** The issuer's subject: stable, unique at that issuer. */
  readonly sub: string;
  readonly email?: string;
  readonly name?: string;
}

/** A session, as its cookie holds it. */
export interface Session extends SignedInPerson {
  /** A random id: the CSRF token of the session's forms is derived from it. */
  readonly sid: string;
  /** Seconds since the epoch after which the cookie is refused. */
  readonly exp: number;
}

/** One sign-in under way: what the callback must find again. */
export interface LoginTransaction {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** The console path to go back to once signed in. */
  readonly returnTo: string;
  readonly exp: number;
}

/** The claims of a checked ID token that the console uses. */
export interface IdTokenClaims {
  readonly sub: string;
  readonly nonce?: unknown;
  readonly email?: unknown;
  readonly name?: unknown;
}

/**
 * The issuer, as the console needs it: where to send a person to sign in, and the code they come
 * back with redeemed for an ID token whose signature, issuer, audience and times are checked.
 */
export interface IdentityProvider {
  authorizationUrl(request: {
    readonly redirectUri: string;
    readonly state: string;
    readonly nonce: string;
    readonly codeChallenge: string;
    readonly loginHint?: string;
  }): Promise<string>;
  redeem(request: {
    readonly code: string;
    readonly verifier: string;
    readonly redirectUri: string;
  }): Promise<IdTokenClaims>;
  /** Where to end the issuer's own session after Casebook's, when the issuer has such a place. */
  logoutUrl(postLogoutRedirectUri: string): Promise<string | undefined>;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** A random token of 32 bytes, base64url: state, nonce, session id. */
export function randomToken(): string {
  return b64url(randomBytes(32));
}

/** A PKCE code verifier (RFC 7636 §4.1): 43 characters of the unreserved set. */
export function pkceVerifier(): string {
  return randomToken();
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return b64url(createHash('sha256').update(verifier, 'ascii').digest());
}

/** Equal strings, compared in constant time; different lengths are simply unequal. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function mac(key: Buffer, purpose: string, data: string): Buffer {
  return createHmac('sha256', key).update(`${purpose}\n${data}`).digest();
}

/**
 * A value signed for one purpose (`session`, `login`): base64url JSON, a dot, its HMAC-SHA256.
 * The purpose is inside the MAC, so a sign-in cookie cannot be replayed as a session.
 */
export function sealValue(key: Buffer, purpose: string, value: object): string {
  const body = b64url(Buffer.from(JSON.stringify(value)));
  return `${body}.${b64url(mac(key, purpose, body))}`;
}

/** The value of a sealed string, if its MAC is right for `purpose` and `key`; undefined otherwise. */
export function openValue(key: Buffer, purpose: string, sealed: string): unknown {
  const dot = sealed.indexOf('.');
  if (dot <= 0 || sealed.length > 8192) return undefined;
  const body = sealed.slice(0, dot);
  const given = sealed.slice(dot + 1);
  if (!sameToken(given, b64url(mac(key, purpose, body)))) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;

/** A new session for `person`, lasting {@link SESSION_SECONDS} from `now`. */
export function newSession(person: SignedInPerson, now: Date): Session {
  return {
    sub: person.sub,
    ...(person.email ? { email: person.email } : {}),
    ...(person.name ? { name: person.name } : {}),
    sid: randomToken(),
    exp: Math.floor(now.getTime() / 1000) + SESSION_SECONDS,
  };
}

export function sealSession(key: Buffer, session: Session): string {
  return sealValue(key, 'session', session);
}

/** The session a cookie holds: undefined when it is missing, forged, malformed or expired. */
export function openSession(key: Buffer, cookie: string | undefined, now: Date): Session | undefined {
  if (!cookie) return undefined;
  const v = openValue(key, 'session', cookie) as Partial<Session> | undefined;
  if (!v || typeof v !== 'object' || !isString(v.sub) || !isString(v.sid) || typeof v.exp !== 'number')
    return undefined;
  if (v.exp * 1000 <= now.getTime()) return undefined;
  return {
    sub: v.sub,
    sid: v.sid,
    exp: v.exp,
    ...(isString(v.email) ? { email: v.email } : {}),
    ...(isString(v.name) ? { name: v.name } : {}),
  };
}

/** A new sign-in: fresh state, nonce and verifier, lasting {@link LOGIN_SECONDS}. */
export function newLogin(returnTo: string, now: Date): LoginTransaction {
  return {
    state: randomToken(),
    nonce: randomToken(),
    verifier: pkceVerifier(),
    returnTo: safeReturnTo(returnTo),
    exp: Math.floor(now.getTime() / 1000) + LOGIN_SECONDS,
  };
}

export function sealLogin(key: Buffer, login: LoginTransaction): string {
  return sealValue(key, 'login', login);
}

/** Why a callback is refused: said to the person, who is sent to sign in again. */
export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

/**
 * The sign-in a callback finishes: its cookie must be ours, unexpired, and carry the state the
 * issuer sent back (else the callback is a request some other page started: login CSRF).
 */
export function openLogin(
  key: Buffer,
  cookie: string | undefined,
  state: string | undefined,
  now: Date,
): LoginTransaction {
  if (!cookie) throw new SignInError('No sign-in is under way in this browser');
  const v = openValue(key, 'login', cookie) as Partial<LoginTransaction> | undefined;
  if (
    !v ||
    !isString(v.state) ||
    !isString(v.nonce) ||
    !isString(v.verifier) ||
    typeof v.returnTo !== 'string' ||
    typeof v.exp !== 'number'
  )
    throw new SignInError('The sign-in cookie is not one Casebook made');
  if (v.exp * 1000 <= now.getTime()) throw new SignInError('The sign-in took too long');
  if (!state || !sameToken(state, v.state)) throw new SignInError('The sign-in state does not match');
  return { state: v.state, nonce: v.nonce, verifier: v.verifier, returnTo: v.returnTo, exp: v.exp };
}

/** The person an ID token names, once its nonce is the one this sign-in sent (no replayed token). */
export function personFromIdToken(claims: IdTokenClaims, login: LoginTransaction): SignedInPerson {
  if (typeof claims.nonce !== 'string' || !sameToken(claims.nonce, login.nonce))
    throw new SignInError('The ID token does not carry this sign-in’s nonce');
  if (!isString(claims.sub)) throw new SignInError('The ID token names no subject');
  return {
    sub: claims.sub,
    ...(isString(claims.email) ? { email: claims.email } : {}),
    ...(isString(claims.name) ? { name: claims.name } : {}),
  };
}

/** The CSRF token of a session's forms: bound to the session, so another's token is refused. */
export function csrfToken(key: Buffer, session: Session): string {
  return b64url(mac(key, 'csrf', session.sid));
}

export function csrfMatches(key: Buffer, session: Session, given: string | undefined): boolean {
  return given !== undefined && sameToken(given, csrfToken(key, session));
}

/**
 * A path on this site to go back to after signing in: anything else (another origin, `//host`,
 * a backslash some browsers read as a slash) becomes `/`, so the sign-in cannot redirect away.
 */
export function safeReturnTo(path: string | undefined): string {
  if (!path?.startsWith('/') || path.startsWith('//') || /[\\\s]/.test(path) || path.length > 1024)
    return '/';
  return path;
}

/** A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure when the console is served over https. */
export function cookieHeader(
  name: string,
  value: string,
  options: { readonly maxAgeSeconds: number; readonly secure: boolean; readonly path?: string },
): string {
  return [
    `${name}=${value}`,
    `Path=${options.path ?? '/'}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The cookie `name` among an HTTP API event's `cookies` (`name=value` each). */
export function cookieValue(cookies: readonly string[] | undefined, name: string): string | undefined {
  for (const c of cookies ?? []) {
    const eq = c.indexOf('=');
    if (eq > 0 && c.slice(0, eq).trim() === name) return c.slice(eq + 1).trim();
  }
  return undefined;
}
