/**
 * A web page on another origin, open in the developer's browser while `npm start` runs, tries the
 * writes the local stack cannot authenticate (on AWS they need SigV4): opening an incident and
 * recording a ledger entry, with a `no-cors` fetch and a CORS-safelisted content type, so the
 * browser sends them without asking the stack first. Nothing is written.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import { complaint } from '../support/declarations.ts';
import { getCase, waitFor } from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const local = stackWithBrowser();
let elsewhere: Server;
let elsewherePort: number;

beforeAll(async () => {
  elsewhere = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Some page</title><p>Nothing to see.</p>');
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewherePort = (elsewhere.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => elsewhere?.close(() => resolve())));

async function incidentIds(): Promise<string[]> {
  const res = await fetch(`${local.stack.endpoints.api}/incidents?limit=100`);
  return ((await res.json()) as { incidents: { id: string }[] }).incidents.map((i) => i.id);
}

describe('a page on another origin', () => {
  it('can neither open an incident nor write to a ledger on the local stack', async () => {
    const api = local.stack.endpoints.api;
    // An incident whose ledger the page aims at, declared as support would (not cross-site).
    const declared = await fetch(`${api}/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(complaint),
    });
    expect(declared.status).toBe(201);
    const { incidentId } = (await declared.json()) as { incidentId: string };
    const detectedAt = (
      (await getCase(local.stack, incidentId)) as unknown as { incident: { detectedAt: string } }
    ).incident.detectedAt;
    const incidentsBefore = await incidentIds();

    // Another site (localhost is not 127.0.0.1) and the same site on another port.
    for (const origin of [`http://localhost:${elsewherePort}`, `http://127.0.0.1:${elsewherePort}`]) {
      const page = await local.browser.newPage();
      await page.goto(`${origin}/`, { timeout: SERVER_MS });
      const sent = await page.evaluate(
        async ({ api, incidentId, declaration, entry }) => {
          const send = (path: string, body: unknown) =>
            fetch(`${api}${path}`, {
              method: 'POST',
              mode: 'no-cors',
              headers: { 'Content-Type': 'text/plain; a=json', 'Idempotency-Key': 'from-elsewhere' },
              body: JSON.stringify(body),
            }).then((res) => res.type);
          return [
            await send('/incidents', { ...declaration, csTicketId: 'CS-9999' }),
            await send(`/incidents/${incidentId}/ledger`, entry),
          ];
        },
        {
          api,
          incidentId,
          declaration: complaint,
          entry: { ...legalFee, effectiveAt: detectedAt },
        },
      );
      // The browser sent both (a no-cors answer is opaque to the page).
      expect(sent).toEqual(['opaque', 'opaque']);
      await page.close();
    }

    expect(await incidentIds()).toEqual(incidentsBefore);
    expect((await getCase(local.stack, incidentId)).ledger.map((e) => e.kind)).not.toContain('legal_fee');
    // The declared incident's lifecycle reaches its first wait for people before the stack closes.
    let last = '';
    let same = 0;
    await waitFor(
      `${incidentId} to settle`,
      async () => {
        const c = await getCase(local.stack, incidentId);
        const now = JSON.stringify([c.incident.phase, c.timeline.length, c.ledger.length]);
        same = now === last ? same + 1 : 0;
        last = now;
        await new Promise((r) => setTimeout(r, 200));
        return same >= 3 ? true : undefined;
      },
      SERVER_MS,
    );
  }, 120_000);
});
