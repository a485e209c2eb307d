import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSession, sealSession } from '../../functions/domain/session.ts';
import { sessionKeyFile } from '../../local/names.ts';
import type { LocalStack } from '../../local/stack.ts';
import { setCookies, signIn } from '../support/console.ts';
import { freePorts, getCase, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let dataDir: string;
let incidentId: string;
let cookie: string;

beforeAll(async () => {
  dataDir = tempDataDir();
  stack = await start(dataDir, await freePorts());
  const res = await postAlert(stack, sample);
  expect(res.status).toBeLessThan(300);
  incidentId = ((await res.json()) as { incidentId: string }).incidentId;
  await waitFor('the incident', () => getCase(stack, incidentId));
  cookie = (await signIn(stack, 'ada@example.com')).cookie;
}, 120_000);
afterAll(() => stack?.close());

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.endpoints.api}${path}`, { redirect: 'manual', headers });

describe('signing in to the console', () => {
  it('sends a browser without a session to sign in, and back where it was going', async () => {
    const res = await get(`/console/incidents/${incidentId}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(
      `/auth/login?returnTo=${encodeURIComponent(`/console/incidents/${incidentId}`)}`,
    );
  });

  it('round-trips through the issuer with PKCE S256, state and nonce, into a signed session cookie', async () => {
    const steps = await signIn(stack, 'grace@example.com', '/?severity=SEV2');
    const q = steps.authorize.searchParams;
    expect(steps.authorize.origin).toBe(stack.endpoints.oidc);
    expect(stack.endpoints.oidc).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('login_hint')).toBe('grace@example.com');
    expect(q.get('redirect_uri')).toBe(`${stack.endpoints.api}/auth/callback`);
    const sessionLine = steps.callback.headers.getSetCookie().find((c) => c.startsWith('casebook_session='));
    expect(sessionLine).toMatch(/HttpOnly/);
    expect(sessionLine).toMatch(/SameSite=Lax/);
    // Served over http locally: a Secure cookie would never come back.
    expect(sessionLine).not.toMatch(/Secure/);
    expect(steps.callback.headers.get('location')).toBe('/?severity=SEV2');
    const page = await get('/', { cookie: steps.cookie });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('grace@example.com');
  });

  it('refuses to start a sign-in that would end elsewhere or with a hint no one has, naming the field', async () => {
    for (const [query, field] of [
      ['returnTo=https%3A%2F%2Fevil.example%2F', 'returnTo'],
      ['returnTo=%2F%2Fevil.example', 'returnTo'],
      [`login_hint=${'a'.repeat(300)}`, 'login_hint'],
    ] as const) {
      const res = await get(`/auth/login?${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.text()).toContain(`<strong>${field}</strong>`);
      expect(setCookies(res).get('casebook_login')).toBeUndefined();
    }
  });

  it('refuses a callback whose state is not the sign-in’s, and makes no session', async () => {
    const login = await get('/auth/login');
    const loginCookie = setCookies(login).get('casebook_login');
    const issuer = await fetch(login.headers.get('location') ?? '', { redirect: 'manual' });
    const back = new URL(issuer.headers.get('location') ?? '');
    back.searchParams.set('state', 'not-the-state');
    const res = await fetch(back, {
      redirect: 'manual',
      headers: { cookie: `casebook_login=${loginCookie}` },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('state does not match');
    expect(setCookies(res).get('casebook_session')).toBeUndefined();
  });

  it('sends a forged or expired session cookie to sign in again, never a 5xx', async () => {
    const value = cookie.slice('casebook_session='.length);
    const forged = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    const key = Buffer.from(readFileSync(sessionKeyFile(dataDir), 'utf8').trim(), 'base64url');
    const expired = sealSession(key, {
      ...newSession({ sub: 'ada@example.com' }, new Date(Date.now() - 9 * 3600_000)),
    });
    for (const bad of [forged, expired, 'garbage', '']) {
      const res = await get('/', { cookie: `casebook_session=${bad}` });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toMatch(/^\/auth\/login\?returnTo=/);
    }
  });

  it('signs out only with the session’s own CSRF token', async () => {
    const { cookie: mine } = await signIn(stack, 'ada@example.com');
    const page = await (await get('/', { cookie: mine })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf).toBeDefined();
    const post = (token: string) =>
      fetch(`${stack.endpoints.api}/auth/logout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: mine, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: token }).toString(),
      });
    const refused = await post('forged');
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('csrf');
    const out = await post(csrf as string);
    expect(setCookies(out).get('casebook_session')).toBe('');
    // Then the issuer's session: the page refreshes to its end-session endpoint, which comes back.
    expect(out.status).toBe(200);
    const refresh = /<meta http-equiv="refresh" content="0; url=([^"]+)">/
      .exec(await out.text())?.[1]
      ?.replaceAll('&amp;', '&');
    const endSession = new URL(refresh ?? '');
    expect(endSession.origin).toBe(stack.endpoints.oidc);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
      `${stack.endpoints.api}/auth/logout`,
    );
    const back = await fetch(endSession, { redirect: 'manual' });
    expect(back.headers.get('location')).toBe(`${stack.endpoints.api}/auth/logout`);
    const signedOut = await get('/auth/logout');
    expect(await signedOut.text()).toContain('You are signed out');
    // Without a session there is nothing to sign out of: refused, naming the token.
    const none = await fetch(`${stack.endpoints.api}/auth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrf as string }).toString(),
    });
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('<strong>csrf</strong>');
  });
});

describe('the console', () => {
  it('lists the incident with its number, severity, status, phase and who it waits on', async () => {
    const res = await get('/', { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const body = await res.text();
    const c = await getCase(stack, incidentId);
    expect(body).toContain(`href="/console/incidents/${incidentId}"`);
    expect(body).toContain((c.incident as unknown as { severity: string }).severity);
    expect(body).toContain('Waiting on');
    expect(body).not.toContain('<script');
  });

  it('filters by severity and status with a plain GET form', async () => {
    const c = (await getCase(stack, incidentId)).incident as unknown as { severity: string };
    const other = ['SEV1', 'SEV2', 'SEV3', 'SEV4'].find((s) => s !== c.severity);
    expect(await (await get(`/?severity=${c.severity}&status=open`, { cookie })).text()).toContain(
      incidentId,
    );
    expect(await (await get(`/?severity=${other}`, { cookie })).text()).not.toContain(incidentId);
    expect(await (await get('/?status=CLOSED', { cookie })).text()).toContain('No incident matches');
  });

  it('answers a filter it cannot read with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['severity=SEV9', 'severity'],
      ['status=DONE', 'status'],
      ['cursor=x', 'cursor'],
      [
        `cursor=${Buffer.from('{"p":"final","d":"yesterday","i":"INC-2026-0001"}').toString('base64url')}`,
        'cursor',
      ],
    ] as const) {
      const res = await get(`/?${query}`, { cookie });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(`<strong>${field}</strong>`);
    }
  });

  it('opens the read-only case page, and the case file as text', async () => {
    const res = await get(`/console/incidents/${incidentId}`, { cookie });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(incidentId);
    expect(body).toContain('Timeline, newest first');
    expect(body).not.toMatch(/<form[^>]*action="\/work/);
    const file = await get(`/console/incidents/${incidentId}/case-file.txt`, { cookie });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await file.text()).toContain(incidentId);
    const badPage = await get(`/console/incidents/${incidentId}?ledger=x`, { cookie });
    expect(badPage.status).toBe(400);
    expect(await badPage.text()).toContain('<strong>ledger</strong>');
    const cost = await get(`/console/incidents/${incidentId}/cost`, { cookie });
    expect(cost.status).toBe(200);
    expect(await cost.text()).toContain(`What ${incidentId} cost`);
    expect((await get('/console/incidents/INC-2026-9999/cost', { cookie })).status).toBe(404);
    expect((await get('/console/incidents/INC-2026-9999', { cookie })).status).toBe(404);
    expect((await get('/console/incidents/nonsense', { cookie })).status).toBe(404);
  });
});
