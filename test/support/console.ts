/** Signing in to the console over HTTP, as a browser does: login, the issuer, the callback. */
import type { StackEndpoints } from './local-stack.ts';

/** The `name=value` pairs a response sets, by name. */
export function setCookies(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export interface SignInSteps {
  readonly login: Response;
  readonly authorize: URL;
  readonly callback: Response;
  /** `casebook_session=…`, to send as a Cookie header. */
  readonly cookie: string;
}

/** Signs in as `email` (the local issuer's login_hint) and answers the session cookie. */
export async function signIn(stack: StackEndpoints, email: string, returnTo = '/'): Promise<SignInSteps> {
  const api = stack.endpoints.api;
  const login = await fetch(
    `${api}/auth/login?login_hint=${encodeURIComponent(email)}&returnTo=${encodeURIComponent(returnTo)}`,
    { redirect: 'manual' },
  );
  const authorize = new URL(login.headers.get('location') ?? '');
  const loginCookie = setCookies(login).get('casebook_login');
  const issuer = await fetch(authorize, { redirect: 'manual' });
  const back = issuer.headers.get('location') ?? '';
  const callback = await fetch(back, {
    redirect: 'manual',
    headers: { cookie: `casebook_login=${loginCookie}` },
  });
  const session = setCookies(callback).get('casebook_session');
  if (callback.status !== 302 || !session)
    throw new Error(`Sign-in as ${email} failed: the callback answered ${callback.status}`);
  return { login, authorize, callback, cookie: `casebook_session=${session}` };
}
