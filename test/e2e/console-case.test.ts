import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import {
  approveRound,
  chargedCustomers,
  closeCase,
  openedToDecide,
  REFUND_CREDIT_NOTICE,
  THREE_CUSTOMERS,
} from '../support/casework.ts';
import { signIn } from '../support/console.ts';
import { freePorts, start, tempDataDir } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let incidentId: string;
let cookie: string;

beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
  const customers = await chargedCustomers(stack, THREE_CUSTOMERS);
  incidentId = (await openedToDecide(stack, sample, customers, REFUND_CREDIT_NOTICE)).incidentId;
  await approveRound(stack, incidentId);
  await closeCase(stack, incidentId, { timeoutMs: 120_000 });
  cookie = (await signIn(stack, 'auditor@example.com')).cookie;
}, 240_000);
afterAll(() => stack?.close());

const page = async (path: string) => {
  const res = await fetch(`${stack.endpoints.api}${path}`, { headers: { cookie } });
  expect(res.status, path).toBe(200);
  return res.text();
};

/** The HTML between two headings of the case page, as text. */
function section(html: string, from: string, to?: string): string {
  const heading = (text: string, after = 0) => {
    const at = html.slice(after).search(new RegExp(`<h2[^>]*>${text}`));
    return at < 0 ? -1 : after + at;
  };
  const start = heading(from);
  const end = to ? heading(to, start) : html.length;
  expect(start, from).toBeGreaterThan(0);
  return html
    .slice(start, end)
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
}

describe('a closed case in the console', () => {
  it('is listed as closed, waiting on nobody, after the open ones', async () => {
    const list = await page('/?status=CLOSED');
    const row = new RegExp(`${incidentId}[\\s\\S]*?</tr>`).exec(list)?.[0] ?? '';
    expect(row).toContain('Closed');
    expect(row).toContain('Nobody');
    expect(row).toContain('Learn');
    expect(await page('/?status=open')).not.toContain(`/console/incidents/${incidentId}"`);
  });

  it('shows the plan’s refunds and credits, where the effects stand, and the same money on what it cost, every value in words', async () => {
    const html = await page(`/console/incidents/${incidentId}`);
    const plan = section(html, 'Plan', 'Approvals');
    const cost = section(await page(`/console/incidents/${incidentId}/cost`), 'By kind');
    // Refunds: 12.50 + 7.25 EUR and 1200 JPY (ToS line); a 5.00 EUR credit each for three (brand line).
    for (const money of ['EUR 19.75', 'JPY 1200', 'EUR 15.00']) {
      expect(plan, money).toContain(money);
      expect(cost, money).toContain(money);
    }
    expect(plan).toContain('ToS line');
    expect(plan).toContain('Brand line');
    expect(plan).not.toMatch(/notice/i);
    const approvals = section(html, 'Approvals', 'Timeline');
    expect(approvals).toContain('Approved');
    const effects = section(html, 'Effects', 'Ledger entries');
    expect(effects).toMatch(/Refunds : 3 confirmed, 0 pending, 0 waiting for a person \(of 3\)/);
    expect(section(html, 'Ledger entries', 'What it cost')).toMatch(/\d+ entries in all, newest first/);
    const read = [section(html, 'Summary', 'Timeline'), effects, cost].join(' ');
    expect(read).not.toMatch(/\b(tos|brand|CLOSED|RESOLVED|approve|request-changes|refund_confirmation)\b/);
    expect(read).not.toMatch(/\b[a-z]+_[a-z]+\b/);
  });

  it('opens the case file as text, the same case the page shows', async () => {
    const text = await page(`/console/incidents/${incidentId}/case-file.txt`);
    expect(text).toContain(`id: ${incidentId}`);
    expect(text).toContain('status: closed');
  });
});
