/**
 * `node:http` for the bundles, taken with require(): importing it as an ES module makes Node build
 * the module's facade, which reads every export, and reading `WebSocket` loads the whole of undici
 * at every cold start. The bundler puts this module in place of `http` and `node:http`
 * (`BUNDLE_ALIASES` in lib/constructs/casebook-function.ts); the bundled libraries use its default
 * export, `request` and `Agent`.
 */
import { createRequire } from 'node:module';

const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export default http;
export const { Agent, ClientRequest, IncomingMessage, STATUS_CODES, get, request } = http;
