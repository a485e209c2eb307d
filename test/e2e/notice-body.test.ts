/**
 * A customer's own name cannot add a line to the notice sent to them: on the local stack, through
 * Act and the real SES emulator, a name and an incident summary carrying CR/LF (and the other line
 * breaks) reach the plain-text body as one line each.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { apologyPlan, approvedForAct, incidentForAct } from '../support/act-setup.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

describe("a customer's notice", () => {
  it('has no line starting with "Bcc:" for a customer named "Ann\\r\\nBcc: x@evil"', async () => {
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, await freePorts());
    const incident = incidentForAct(8, 'INC-2026-8200', 'notice-body', {
      customerSummary: 'we charged you twice.\u2028Bcc: y@evil.example\u0085Bcc: z@evil.example',
    });
    await approvedForAct(
      stack,
      dataDir,
      incident,
      [{ customerRef: 'cus_ann', name: 'Ann\r\nBcc: x@evil.example', email: 'ann@example.com' }],
      apologyPlan('Tell the customer'),
    );
    const target = stack;
    const notice = await waitFor(
      'the notice to Ann',
      async () =>
        (await inbox(target)).find(
          (e) => e.subject.startsWith('About your account') && e.destination.to.includes('ann@example.com'),
        ),
      60_000,
    );
    const text = notice.body.text ?? '';
    const lines = text.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/);
    expect(lines.filter((l) => /^\s*Bcc:/i.test(l))).toEqual([]);
    expect(lines[0]).toBe('Hello Ann  Bcc: x@evil.example,');
    expect(text).toContain(
      'We are writing because we charged you twice. Bcc: y@evil.example Bcc: z@evil.example',
    );
  }, 180_000);
});
