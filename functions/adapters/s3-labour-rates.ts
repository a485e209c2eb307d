/**
 * Puts the configured labour rates where Athena's `labour_rates` table reads them, so SQL on AWS
 * prices labour time with the rates in force, as `casebook pnl` does with `CASEBOOK_LABOUR_RATES`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { LabourRate } from '../domain/labour-rates.ts';
import {
  LABOUR_RATES_CONTENT_TYPE,
  LABOUR_RATES_KEY,
  labourRatesObject,
} from '../domain/labour-rates-object.ts';

/** Writes the rates object, replacing the last one: configuration says what the rates are now. */
export async function putLabourRates(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  rates: readonly LabourRate[],
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: LABOUR_RATES_KEY,
      Body: labourRatesObject(rates),
      ContentType: LABOUR_RATES_CONTENT_TYPE,
    }),
  );
}
