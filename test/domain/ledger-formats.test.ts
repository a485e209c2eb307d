/**
 * Readers of the ledger see format 2 and format 3 entries alike, through the one `LedgerEntry`
 * type: a log begun in format 2 and gone on in format 3 sums, nets its corrections and verifies
 * as one log.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import type { ChainItem, ChainTip, LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import {
  batchItem,
  effectState,
  entriesOf,
  genesisTip,
  isCurrentEntry,
  newEntryId,
  sealEntry,
  tipAfter,
  verifyChain,
} from '../../functions/domain/ledger.ts';
import { profitAndLoss } from '../../functions/domain/profit-and-loss.ts';
import { confirmedRefund } from '../support/ledger-chains.ts';

const INC = 'INC-2026-0001';
const sealer = new FileKeySealer(newKeyFile('k1'));
const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
const eur = (minor: number) => ({ minor, currency: 'EUR' });

const draft = confirmedRefund;

const rows = (items: readonly ChainItem[]) =>
  profitAndLoss(entriesOf(items)).totals.map((t) => [t.kind, t.currency, t.obligation, t.count, t.amount]);

describe('a log in both formats, read as one', () => {
  it('nets format 3 corrections of format 2 entries and of format 3 ones, and verifies', async () => {
    const old: LedgerEntryV2[] = [];
    old.push(await sealEntry(INC, undefined, draft(0, { amount: eur(5000), obligation: 'tos' }), sealer));
    old.push(
      await sealEntry(
        INC,
        old[0],
        draft(1, { kind: 'legal_fee', amount: eur(80_000), obligation: 'tos' }),
        sealer,
      ),
    );
    let tip: ChainTip = genesisTip();
    for (const e of old) tip = tipAfter(e, tip);
    const [first, second] = old as [LedgerEntryV2, LedgerEntryV2];
    const batch = [
      draft(2, {
        kind: 'correction',
        amount: eur(3000),
        obligation: 'tos',
        corrects: { id: first.id, seq: 1 },
      }),
      draft(3, {
        kind: 'legal_fee',
        amount: eur(60_000),
        obligation: 'brand',
        corrects: { id: second.id, seq: 2 },
      }),
      draft(4, { kind: 'credit', amount: eur(500), obligation: 'brand' }),
    ].map((d) => ({ draft: d, id: newEntryId(d) }));
    const item = await batchItem(INC, tip, batch, signer);
    const credit = item.entries[2];
    if (!credit) throw new Error('no credit');
    const later = await batchItem(
      INC,
      tipAfter(item, tip),
      [
        {
          draft: draft(5, {
            kind: 'correction',
            amount: eur(250),
            obligation: 'brand',
            corrects: { id: credit.id, seq: credit.seq },
          }),
          id: newEntryId(draft(5, {})),
        },
      ],
      signer,
    );
    const items: ChainItem[] = [...old, item, later];

    const entries = entriesOf(items);
    expect(entries.map((e) => [e.format, e.seq])).toEqual([
      [2, 1],
      [2, 2],
      [3, 3],
      [3, 4],
      [3, 5],
      [3, 6],
    ]);
    expect(entries.every(isCurrentEntry)).toBe(true);
    expect(entries.map(effectState)).toEqual(Array(6).fill('confirmed'));
    expect(rows(items)).toEqual([
      ['refund', 'EUR', 'tos', 1, '30.00'],
      ['credit', 'EUR', 'brand', 1, '2.50'],
      ['legal_fee', 'EUR', 'brand', 1, '600.00'],
    ]);
    expect(await verifyChain(INC, items, { sealer, publicKey: pair.publicKey })).toEqual([]);
  });
});
