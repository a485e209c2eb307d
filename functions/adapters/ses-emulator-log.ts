/**
 * The local SES emulator's store (aws-ses-v2-local keeps every message it took, readable at
 * `/store`), as the mail log a person checks before saying whether a notice went out. The store is
 * in memory: `/store-since` (local/ses.ts) says from when it remembers, and a reading that spans a
 * restart of the emulator counts as no reading. On AWS there is no such log unless SES event
 * publishing is set up, so nothing is configured there.
 */
import * as z from 'zod';
import type { SentMailLog, SentMailRecord } from '../domain/ports.ts';

const storeSchema = z.object({
  emails: z.array(
    z.object({
      messageId: z.string(),
      subject: z.string(),
      destination: z.object({ to: z.array(z.string()) }),
      at: z.number(),
    }),
  ),
});

const sinceSchema = z.object({ since: z.iso.datetime() });

export class SesEmulatorLog implements SentMailLog {
  private readonly storeUrl: string;
  private readonly sinceUrl: string;

  constructor(storeUrl: string) {
    this.storeUrl = storeUrl;
    this.sinceUrl = new URL('store-since', storeUrl).toString();
  }

  private async since(): Promise<string | undefined> {
    const response = await fetch(this.sinceUrl);
    return response.ok ? sinceSchema.parse(await response.json()).since : undefined;
  }

  async find(to: string, subject: string): Promise<SentMailRecord | undefined> {
    try {
      const before = await this.since();
      const response = await fetch(this.storeUrl);
      if (!before || !response.ok) return undefined;
      const { emails } = storeSchema.parse(await response.json());
      // The emulator restarted (or its store was cleared) while we read: what we read means nothing.
      if ((await this.since()) !== before) return undefined;
      return {
        since: before,
        messages: emails
          .filter((e) => e.subject === subject && e.destination.to.includes(to))
          // The emulator stores seconds since the epoch.
          .map((e) => ({ messageId: e.messageId, at: new Date(e.at * 1000).toISOString() })),
      };
    } catch {
      return undefined;
    }
  }
}
