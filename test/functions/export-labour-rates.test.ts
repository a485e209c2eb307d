/**
 * The export function puts the configured labour rates where Athena's `labour_rates` table reads
 * them, on every run — a scheduled one with nothing to export yet included — before the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putLabourRates } from '../../functions/adapters/s3-labour-rates.ts';
import { parseLabourRates } from '../../functions/domain/labour-rates.ts';
import { LABOUR_RATES_KEY } from '../../functions/domain/labour-rates-object.ts';
import type { LedgerExportSource, LedgerRowWriter } from '../../functions/domain/ledger-export.ts';
import { makeExportLedgerHandler } from '../../functions/export-ledger/export-ledger.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

let s3: TestBucket;

beforeAll(async () => {
  s3 = await startTestBucket('exports');
});
afterAll(async () => {
  await s3?.close();
});

/** A ledger with no incident yet: the scheduled run has nothing to export. */
const empty: LedgerExportSource = {
  incidentsDetectedBefore: async () => [],
  entryPages: async function* () {},
};
const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
const noWriter = (): LedgerRowWriter => {
  throw new Error('nothing should be written');
};

describe('the export function and the labour rates', () => {
  it('puts the configured rates as JSON lines under labour-rates/v1/, even when there is no ledger to export', async () => {
    const rates = parseLabourRates({
      SRE: { amount: '120.00', currency: 'EUR' },
      'Incident commander': { amount: '150.50', currency: 'EUR' },
    });
    const handler = makeExportLedgerHandler({
      source: empty,
      writerFor: noWriter,
      clock: { now: () => new Date('2026-12-07T01:15:00.000Z') },
      publishLabourRates: () => putLabourRates(s3.client, s3.bucket, rates),
    });
    await expect(handler(scheduled)).resolves.toMatchObject({
      skipped: expect.stringMatching(/no incidents/),
    });
    expect(await s3.keys()).toEqual([LABOUR_RATES_KEY]);
    expect(await s3.read(LABOUR_RATES_KEY)).toBe(
      '{"role":"SRE","currency":"EUR","rate_minor":12000}\n' +
        '{"role":"Incident commander","currency":"EUR","rate_minor":15050}\n',
    );
  });

  it('replaces the rates with what is configured now, none included', async () => {
    const handler = makeExportLedgerHandler({
      source: empty,
      writerFor: noWriter,
      clock: { now: () => new Date('2026-12-08T01:15:00.000Z') },
      publishLabourRates: () => putLabourRates(s3.client, s3.bucket, []),
    });
    await handler(scheduled);
    expect(await s3.read(LABOUR_RATES_KEY)).toBe('');
  });

  it('fails the run when the rates cannot be put, before exporting anything', async () => {
    let listed = false;
    const handler = makeExportLedgerHandler({
      source: {
        ...empty,
        incidentsDetectedBefore: async () => {
          listed = true;
          return [];
        },
      },
      writerFor: noWriter,
      clock: { now: () => new Date('2026-12-09T01:15:00.000Z') },
      publishLabourRates: () => putLabourRates(s3.client, 'no-such-bucket', []),
    });
    await expect(handler(scheduled)).rejects.toThrow();
    expect(listed).toBe(false);
  });
});
