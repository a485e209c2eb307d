/**
 * aws-ses-v2-local (SES and its web inbox), started the way the local stack needs it. Its store of
 * the messages it took lives in memory: a restart (or `POST /clear-store`) forgets every one. So
 * that nobody reads an empty store as "never sent", the server also answers `GET /store-since`
 * with `{ "since": <ISO time> }`: from when its store knows what it took.
 */
import type { Server } from 'node:http';
import sesLocal from 'aws-ses-v2-local';

// aws-ses-v2-local is CommonJS with `exports.default`: Node's loader hands over module.exports,
// while bundler-style interop (vitest) honours __esModule and hands over the function itself.
const sesExport: unknown = sesLocal;
const startEmulator = (
  typeof sesExport === 'function' ? sesExport : (sesExport as { default: unknown }).default
) as typeof sesLocal.default;

// The emulator's store is module state: it lives as long as this process (a server closed and
// started again in the same process keeps it), and begins when the first server starts.
let since: string | undefined;

/** Starts the SES emulator; its store begins empty when the first one in this process starts. */
export async function startSesServer(options: { host: string; port: number }): Promise<Server> {
  const server = await startEmulator(options);
  since ??= new Date().toISOString();
  const emulator = server.listeners('request') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/store-since') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ since }));
      return;
    }
    if (request.method === 'POST' && path === '/clear-store') since = new Date().toISOString();
    for (const listener of emulator) listener(request, response);
  });
  // Clients close idle connections before the server does (they read its Keep-Alive hint), so a
  // message is never sent on a connection the server is closing: under load that was a reset,
  // which leaves a notice in doubt (SES has no idempotency key, so a person is asked).
  server.keepAliveTimeout = 65_000;
  return server;
}
