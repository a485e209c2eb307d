import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCaseFile, caseFileSchema, renderCaseFile } from '../../functions/domain/case-file.ts';
import type { SignedHead } from '../../functions/domain/checkpoint.ts';
import {
  ledgerOrigin,
  ledgerPublicKey,
  signHead,
  verifyHeadSignature,
} from '../../functions/domain/checkpoint.ts';
import { leafHash, rootOf } from '../../functions/domain/merkle.ts';
import { plainIncident } from '../support/incidents.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
const incident = plainIncident(3);

async function head(size: number): Promise<SignedHead> {
  const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
  return signHead(
    {
      sign: async (m) => sign('sha256', m, { key: pair.privateKey, dsaEncoding: 'der' }),
      publicKey: async () => spki,
    },
    { origin: ledgerOrigin(incident.id), size, root: rootOf(leaves).toString('hex') },
  );
}

describe('the case file carries the signed head it was made at', () => {
  it('as ledger_head after the seed’s fields, whose signature still verifies once read back from the YAML', async () => {
    const signed = await head(7);
    const yaml = renderCaseFile(
      buildCaseFile({ incident, timeline: [], ledger: [], decisions: [], head: signed }),
    );
    const parsed = caseFileSchema.parse(parse(yaml));
    expect(Object.keys(parsed).at(-1)).toBe('ledger_head');
    expect(parsed.ledger_head).toEqual({
      origin: `casebook/ledger/${incident.id}`,
      size: 7,
      root: signed.root,
      key_id: signed.keyId,
      signature: signed.signature,
    });
    const { key_id: keyId, ...rest } = parsed.ledger_head as NonNullable<typeof parsed.ledger_head>;
    expect(verifyHeadSignature({ ...rest, keyId }, ledgerPublicKey(spki))).toBe(true);
  });

  it('and none while the log has no signed head', () => {
    const caseFile = buildCaseFile({ incident, timeline: [], ledger: [], decisions: [] });
    expect(caseFile.ledger_head).toBeUndefined();
    expect(renderCaseFile(caseFile)).not.toContain('ledger_head');
  });
});
