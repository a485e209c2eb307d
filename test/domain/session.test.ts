import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cookieHeader,
  cookieValue,
  csrfMatches,
  csrfToken,
  newLogin,
  newSession,
  openLogin,
  openSession,
  personFromIdToken,
  pkceChallenge,
  pkceVerifier,
  SESSION_SECONDS,
  SignInError,
  safeReturnTo,
  sealLogin,
  sealSession,
  sealValue,
} from '../../functions/domain/session.ts';

const KEY = randomBytes(32);
const NOW = new Date('2026-12-06T10:00:00Z');
const person = { sub: 'ada@example.com', email: 'ada@example.com' };

describe('PKCE', () => {
  it('makes an RFC 7636 verifier and its S256 challenge', () => {
    const verifier = pkceVerifier();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(pkceVerifier()).not.toBe(verifier);
    // RFC 7636 appendix B's example.
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    expect(pkceChallenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
  });
});

describe('the session cookie', () => {
  it('opens what it sealed, until it expires', () => {
    const session = newSession(person, NOW);
    const cookie = sealSession(KEY, session);
    expect(openSession(KEY, cookie, NOW)).toEqual(session);
    expect(session.exp - NOW.getTime() / 1000).toBe(SESSION_SECONDS);
    expect(openSession(KEY, cookie, new Date(session.exp * 1000))).toBeUndefined();
  });

  it('refuses a forged, altered, re-keyed or missing cookie', () => {
    const cookie = sealSession(KEY, newSession(person, NOW));
    const [body, mac] = cookie.split('.') as [string, string];
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), sub: 'root' }),
    ).toString('base64url');
    expect(openSession(KEY, `${altered}.${mac}`, NOW)).toBeUndefined();
    expect(openSession(randomBytes(32), cookie, NOW)).toBeUndefined();
    expect(openSession(KEY, `${body}.`, NOW)).toBeUndefined();
    expect(openSession(KEY, 'garbage', NOW)).toBeUndefined();
    expect(openSession(KEY, undefined, NOW)).toBeUndefined();
  });

  it('is not a sign-in cookie, nor a sign-in cookie a session', () => {
    const login = newLogin('/', NOW);
    expect(openSession(KEY, sealLogin(KEY, login), NOW)).toBeUndefined();
    const asLogin = sealValue(KEY, 'session', login);
    expect(() => openLogin(KEY, asLogin, login.state, NOW)).toThrow(SignInError);
  });

  it('is HttpOnly and SameSite=Lax, and Secure only over https', () => {
    const plain = cookieHeader('c', 'v', { maxAgeSeconds: 60, secure: false });
    expect(plain).toContain('HttpOnly');
    expect(plain).toContain('SameSite=Lax');
    expect(plain).not.toContain('Secure');
    expect(cookieHeader('c', 'v', { maxAgeSeconds: 60, secure: true })).toContain('; Secure');
    expect(cookieValue(['a=1', 'c= v.w ', 'd=2'], 'c')).toBe('v.w');
    expect(cookieValue(['cc=1'], 'c')).toBeUndefined();
  });
});

describe('one sign-in', () => {
  it('comes back with its own state only', () => {
    const login = newLogin('/console/incidents/INC-2026-0001', NOW);
    const cookie = sealLogin(KEY, login);
    expect(openLogin(KEY, cookie, login.state, NOW)).toEqual(login);
    expect(() => openLogin(KEY, cookie, newLogin('/', NOW).state, NOW)).toThrow(/state/);
    expect(() => openLogin(KEY, cookie, undefined, NOW)).toThrow(/state/);
    expect(() => openLogin(KEY, undefined, login.state, NOW)).toThrow(/No sign-in/);
    expect(() => openLogin(KEY, cookie, login.state, new Date(login.exp * 1000))).toThrow(/too long/);
  });

  it("takes the ID token's person only with this sign-in's nonce", () => {
    const login = newLogin('/', NOW);
    expect(personFromIdToken({ sub: 'ada', nonce: login.nonce, email: 'ada@example.com' }, login)).toEqual({
      sub: 'ada',
      email: 'ada@example.com',
    });
    expect(() => personFromIdToken({ sub: 'ada', nonce: newLogin('/', NOW).nonce }, login)).toThrow(/nonce/);
    expect(() => personFromIdToken({ sub: 'ada' }, login)).toThrow(/nonce/);
  });

  it('goes back only to a path on this site', () => {
    expect(safeReturnTo('/console/incidents/INC-2026-0001?x=1')).toBe('/console/incidents/INC-2026-0001?x=1');
    for (const away of [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'console',
      '',
      undefined,
    ])
      expect(safeReturnTo(away)).toBe('/');
  });
});

describe('the CSRF token', () => {
  it("is the session's own", () => {
    const session = newSession(person, NOW);
    expect(csrfMatches(KEY, session, csrfToken(KEY, session))).toBe(true);
    expect(csrfMatches(KEY, session, csrfToken(KEY, newSession(person, NOW)))).toBe(false);
    expect(csrfMatches(KEY, session, undefined)).toBe(false);
    expect(csrfMatches(KEY, session, '')).toBe(false);
  });
});
