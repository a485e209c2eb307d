import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner, publicKeyFileOf } from '../../functions/adapters/head-signer.ts';
import type { AnchoredIncidentHead, SignedAnchor, StoredAnchor } from '../../functions/domain/anchor.ts';
import {
  ANCHOR_ORIGIN,
  anchorDefect,
  anchorKey,
  anchorRoot,
  checkAnchoredHeads,
  makeAnchor,
  walkAnchors,
  windowOf,
} from '../../functions/domain/anchor.ts';
import type { SignedHead } from '../../functions/domain/checkpoint.ts';
import {
  ledgerOrigin,
  ledgerPublicKey,
  signHead,
  verifyHeadSignature,
} from '../../functions/domain/checkpoint.ts';
import { leafHash, rootOf } from '../../functions/domain/merkle.ts';

const dir = mkdtempSync(join(tmpdir(), 'casebook-anchor-'));
const signer = FileHeadSigner.fromFile(join(dir, 'ledger-signing.pem'), { create: true });
const publicKey = ledgerPublicKey(readFileSync(publicKeyFileOf(join(dir, 'ledger-signing.pem')), 'utf8'));
/** A writer who holds a key of their own, not the ledger's. */
const stranger = FileHeadSigner.fromFile(join(dir, 'stranger.pem'), { create: true });

const INCIDENT = 'INC-2026-0001';
const leaves = (n: number, tag = 'entry') =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${tag} ${i}`)));
const headOf = (l: Buffer[], by = signer): Promise<SignedHead> =>
  signHead(by, { origin: ledgerOrigin(INCIDENT), size: l.length, root: rootOf(l).toString('hex') });
const anchoredHead = (head: SignedHead, seq = head.size): AnchoredIncidentHead => ({
  incidentId: INCIDENT,
  seq,
  hash: 'a'.repeat(64),
  head,
});

/** Anchors 1…n, each after the one before, windows 10–11, 11–12, … */
async function anchorLog(n: number): Promise<{ key: string; anchor: SignedAnchor }[]> {
  const log: { key: string; anchor: SignedAnchor }[] = [];
  for (let i = 0; i < n; i++) {
    const previous = log.at(-1);
    const anchor = await makeAnchor(
      {
        createdAt: `2026-12-06T10:${String(i).padStart(2, '0')}:00.000Z`,
        reason: 'schedule',
        windows: { seconds: 900, from: i === 0 ? 0 : 10 + i, to: 11 + i },
        heads: [anchoredHead(await headOf(leaves(i + 1)))],
        ...(previous ? { previous } : {}),
      },
      signer,
    );
    log.push({ key: anchorKey(anchor.number), anchor });
  }
  return log;
}

const problemsOf = (stored: readonly StoredAnchor[]) =>
  walkAnchors(stored, publicKey).problems.map((p) => `${p.key.replace('signed-anchors/', '')} ${p.problem}`);

describe('signed anchors', () => {
  it('are checkpoints of their own: origin casebook/anchors, size = number, root over header and heads, signed with the ledger key', async () => {
    const [first, second] = (await anchorLog(2)) as [
      { key: string; anchor: SignedAnchor },
      { key: string; anchor: SignedAnchor },
    ];
    expect(first?.anchor.number).toBe(1);
    expect(second?.anchor).toMatchObject({ number: 2, previous: { key: first?.key } });
    expect(second?.anchor.signed).toMatchObject({ origin: ANCHOR_ORIGIN, size: 2 });
    expect(verifyHeadSignature(second?.anchor.signed as SignedHead, publicKey)).toBe(true);
    expect(anchorDefect(second?.anchor as SignedAnchor, publicKey)).toBeUndefined();
    // The signature covers the link and the windows, not only the heads.
    const { signed: _s, ...body } = second.anchor;
    expect(anchorRoot({ ...body, windows: { ...body.windows, from: 0 } })).not.toBe(anchorRoot(body));
    expect(
      anchorDefect(
        { ...(second?.anchor as SignedAnchor), previous: { key: 'x', hash: 'b'.repeat(64) } },
        publicKey,
      ),
    ).toMatch(/does not match the root it signed/);
  });

  it('name their keys by number, so keys sort as anchors follow each other', () => {
    expect(anchorKey(7)).toBe('signed-anchors/000000000007.json');
    expect(anchorKey(10) > anchorKey(9)).toBe(true);
    expect(windowOf(new Date('2026-12-06T10:14:59.999Z'))).toBe(
      windowOf(new Date('2026-12-06T10:00:00.000Z')),
    );
    expect(windowOf(new Date('2026-12-06T10:15:00.000Z'))).toBe(
      windowOf(new Date('2026-12-06T10:00:00.000Z')) + 1,
    );
  });
});

describe('walking the anchors', () => {
  it('finds nothing wrong with anchors as written', async () => {
    const log = await anchorLog(4);
    const walk = walkAnchors(log, publicKey);
    expect(walk.problems).toEqual([]);
    expect(walk.anchors.map((a) => a.anchor.number)).toEqual([1, 2, 3, 4]);
  });

  it('names a missing anchor: a link to a key that is not in the bucket', async () => {
    const log = await anchorLog(4);
    expect(problemsOf(log.filter((a) => a.anchor.number !== 2))).toEqual([
      '000000000003.json anchor-missing',
    ]);
    expect(problemsOf(log.slice(1))).toEqual(['000000000002.json anchor-missing']);
  });

  it('names reordered anchors: each stored where another belongs', async () => {
    const log = await anchorLog(4);
    const [a1, a2, a3, a4] = log as [(typeof log)[0], (typeof log)[0], (typeof log)[0], (typeof log)[0]];
    const swapped = [a1, { key: a2.key, anchor: a3.anchor }, { key: a3.key, anchor: a2.anchor }, a4];
    expect(problemsOf(swapped)).toEqual([
      '000000000002.json anchor-reordered',
      '000000000003.json anchor-reordered',
    ]);
  });

  it('names a replaced anchor: edited (its signature no longer holds), or re-signed (the next one links to another)', async () => {
    const log = await anchorLog(3);
    const [a1, a2, a3] = log as [(typeof log)[0], (typeof log)[0], (typeof log)[0]];
    const edited = { ...a2.anchor, reason: 'nothing to see' };
    expect(problemsOf([a1, { key: a2.key, anchor: edited }, a3])).toEqual([
      '000000000002.json anchor-replaced',
    ]);
    // Re-signed with the ledger key, as a writer holding it could: the link from anchor 3 shows it.
    const resigned = await makeAnchor(
      {
        createdAt: a2.anchor.createdAt,
        reason: 'nothing to see',
        windows: a2.anchor.windows,
        heads: [],
        previous: a1,
      },
      signer,
    );
    const walk = walkAnchors([a1, { key: a2.key, anchor: resigned }, a3], publicKey);
    expect(walk.problems).toEqual([
      expect.objectContaining({
        key: a2.key,
        problem: 'anchor-replaced',
        detail: expect.stringMatching(/its hash differs/),
      }),
    ]);
    // Signed with another key.
    const forged = await makeAnchor({ ...a2.anchor, heads: [], previous: a1 }, stranger);
    expect(problemsOf([a1, { key: a2.key, anchor: forged }])).toEqual(['000000000002.json anchor-replaced']);
    expect(problemsOf([a1, { key: a2.key, unreadable: 'not JSON' }])).toEqual([
      '000000000002.json anchor-replaced',
    ]);
  });

  it('names an anchor gap: windows no anchor read', async () => {
    const log = await anchorLog(2);
    const skipping = await makeAnchor(
      {
        createdAt: '2026-12-06T12:00:00.000Z',
        reason: 'schedule',
        windows: { seconds: 900, from: 20, to: 21 },
        heads: [],
        previous: log[1] as { key: string; anchor: SignedAnchor },
      },
      signer,
    );
    const walk = walkAnchors([...log, { key: anchorKey(3), anchor: skipping }], publicKey);
    expect(walk.problems).toEqual([
      expect.objectContaining({
        key: anchorKey(3),
        problem: 'anchor-gap',
        detail: expect.stringMatching(
          /no anchor read the changes of 1970-01-01T03:15:00.000Z to 1970-01-01T05:00:00.000Z/,
        ),
      }),
    ]);
  });
});

describe("an incident's log against its anchored heads", () => {
  it('proves the current head consistent with the last anchored one', async () => {
    const all = leaves(10);
    const anchored = [{ head: await headOf(all.slice(0, 6)), anchor: 1 }];
    const table = {
      leaves: all,
      heads: [
        { seq: 7, head: await headOf(all.slice(0, 6)) },
        { seq: 10, head: await headOf(all) },
      ],
    };
    expect(checkAnchoredHeads(INCIDENT, table, anchored, publicKey)).toEqual([]);
  });

  it('names a log rewritten and re-signed by a writer holding the signing key', async () => {
    const all = leaves(10);
    const anchored = [{ head: await headOf(all.slice(0, 6)), anchor: 1 }];
    const rewritten = [...all.slice(0, 3), ...leaves(8, 'rewritten').slice(3)];
    const table = { leaves: rewritten, heads: [{ seq: 1, head: await headOf(rewritten) }] };
    expect(checkAnchoredHeads(INCIDENT, table, anchored, publicKey)).toEqual([
      {
        seq: 6,
        problem: 'rewritten',
        detail:
          "the table's first 6 entries no longer hash to the root anchor 1 holds for them; the table’s heads are signed with the ledger key: the log was rewritten and re-signed",
      },
    ]);
  });

  it('names a forked head: two heads of one size signed with the ledger key, with different roots', async () => {
    const all = leaves(6);
    const anchored = [{ head: await headOf(all), anchor: 2 }];
    const other = await headOf(leaves(6, 'other'));
    const table = { leaves: all, heads: [{ seq: 1, head: other }] };
    const problems = checkAnchoredHeads(INCIDENT, table, anchored, publicKey);
    expect(problems.map((p) => p.problem)).toEqual(['forked-head', 'inconsistent']);
    expect(problems[0]?.detail).toMatch(
      /two heads of size 6 signed with the ledger key.*in anchor 2.*in the table's item at seq 1/,
    );
    // A head signed with another key is no fork: the chain check names its signature.
    const unsigned = await headOf(leaves(6, 'other'), stranger);
    expect(
      checkAnchoredHeads(INCIDENT, { leaves: all, heads: [{ seq: 1, head: unsigned }] }, anchored, publicKey),
    ).toEqual([]);
  });

  it('names a log cut short of its anchored head', async () => {
    const all = leaves(6);
    const anchored = [{ head: await headOf(all), anchor: 3 }];
    const cut = all.slice(0, 4);
    expect(
      checkAnchoredHeads(
        INCIDENT,
        { leaves: cut, heads: [{ seq: 1, head: await headOf(cut) }] },
        anchored,
        publicKey,
      ),
    ).toEqual([
      { seq: 5, problem: 'truncated', detail: 'anchor 3 holds a head of 6 entries; the table has 4' },
    ]);
  });
});
