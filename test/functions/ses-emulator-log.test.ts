import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESClient } from '@aws-sdk/client-ses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesEmulatorLog } from '../../functions/adapters/ses-emulator-log.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { startSesServer } from '../../local/stack.ts';

let ses: Server;
let url: string;
beforeAll(async () => {
  ses = await startSesServer({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => ses.close(() => resolve())));

describe('the SES emulator as the mail log a person checks', () => {
  it('finds the messages SES took to one address with one subject, and says when it cannot tell', async () => {
    const mailer = new SesMailer(
      new SESClient({ endpoint: url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
      'casebook@example.com',
    );
    const { messageId } = await mailer.send({
      to: 'ada@example.com',
      subject: 'About your account',
      text: 't',
      html: '<p>t</p>',
    });
    await mailer.send({ to: 'bo@example.com', subject: 'About your account', text: 't', html: '<p>t</p>' });
    const log = new SesEmulatorLog(`${url}/store`);
    const found = await log.find('ada@example.com', 'About your account');
    expect(found).toEqual({
      since: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      messages: [{ messageId, at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) }],
    });
    expect(await log.find('ada@example.com', 'Another subject')).toEqual({
      since: found?.since,
      messages: [],
    });
    expect(await new SesEmulatorLog('http://127.0.0.1:9/store').find('ada@example.com', 'x')).toBeUndefined();
  });

  it('says from when it remembers: a store that forgot says it began later', async () => {
    const log = new SesEmulatorLog(`${url}/store`);
    const before = await log.find('ada@example.com', 'About your account');
    expect(before?.messages).toHaveLength(1);
    expect((await fetch(`${url}/clear-store`, { method: 'POST' })).status).toBe(200);
    const after = await log.find('ada@example.com', 'About your account');
    expect(after?.messages).toEqual([]);
    expect(Date.parse(after?.since ?? '')).toBeGreaterThan(Date.parse(before?.since ?? ''));
  });
});
