/**
 * The local SES emulator's store (aws-ses-v2-local keeps every message it took, readable at
 * `/store`), as the mail log a person checks before saying whether a notice went out. On AWS there
 * is no such log unless SES event publishing is set up, so nothing is configured there.
 */
import { z } from 'zod';
import type { SentMailLog } from '../domain/ports.ts';

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

export class SesEmulatorLog implements SentMailLog {
  private readonly storeUrl: string;

  constructor(storeUrl: string) {
    this.storeUrl = storeUrl;
  }

  async find(to: string, subject: string) {
    try {
      const response = await fetch(this.storeUrl);
      if (!response.ok) return undefined;
      const { emails } = storeSchema.parse(await response.json());
      return (
        emails
          .filter((e) => e.subject === subject && e.destination.to.includes(to))
          // The emulator stores seconds since the epoch.
          .map((e) => ({ messageId: e.messageId, at: new Date(e.at * 1000).toISOString() }))
      );
    } catch {
      return undefined;
    }
  }
}
