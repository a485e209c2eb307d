/**
 * Proof files: what `casebook ledger prove` writes and `casebook ledger check-proof` checks with
 * the ledger's public key alone — no Casebook, no AWS, no table. One JSON object, versioned by
 * `format`, of one of two kinds:
 *
 * - `inclusion`: an entry is in an incident's log. It carries the entry itself (the checker
 *   recomputes its leaf, `SHA-256(0x00 ‖ RFC 8785 JSON of the entry)`), its 0-based `index` among
 *   the log's leaves (`seq` − 1), the signed head it is proved against and the audit path (RFC 9162
 *   §2.1.3.2).
 * - `consistency`: the log at one signed head is a prefix of the log at a later one — nothing in
 *   it was changed or removed — with the consistency path (RFC 9162 §2.1.4.2).
 *
 * A proof fails (the tree does not say what the file claims) differently from bad input (the file
 * is not a proof, names another incident than its head's, or holds a head the key never signed):
 * the CLI exits 1 for the one and 2 for the other.
 */
import type { KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import type { SignedHead } from './checkpoint.ts';
import { keyIdOf, verifyHeadSignature } from './checkpoint.ts';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

/** The format this module writes and reads; another version is refused, not guessed at. */
export const PROOF_FORMAT = 'casebook-proof/1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const signedHeadSchema = z.strictObject({
  origin: z.string().min(1, 'must name the log'),
  size: z
    .number()
    .int('must be a whole number')
    .nonnegative('must not be negative')
    .max(Number.MAX_SAFE_INTEGER),
  root: hex64,
  signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64')
    .max(200, 'is too long for a P-256 signature'),
  keyId: z.string().regex(/^[0-9a-f]{8}$/, 'must be 8 lowercase hex digits'),
});
const incidentId = z.string().regex(/^INC-\d{4}-\d{4,}$/, 'must be an incident id (INC-yyyy-nnnn)');
// 64 hashes prove a place in a tree of 2^64 leaves; a longer path is no proof of this log.
const path = z.array(hex64).max(64, 'is longer than any proof in a tree of 2^64 leaves');

const inclusionSchema = z.strictObject({
  format: z.literal(PROOF_FORMAT),
  kind: z.literal('inclusion'),
  incidentId,
  seq: z.number().int().positive('must be 1 or more'),
  index: z.number().int().nonnegative('must not be negative'),
  entry: z.record(z.string(), z.unknown(), 'must be the entry, a JSON object'),
  head: signedHeadSchema,
  proof: path,
});
const consistencySchema = z.strictObject({
  format: z.literal(PROOF_FORMAT),
  kind: z.literal('consistency'),
  incidentId,
  from: signedHeadSchema,
  to: signedHeadSchema,
  proof: path,
});

/** A proof that an entry is in an incident's log at a signed head. */
export type InclusionProofFile = z.infer<typeof inclusionSchema>;
/** A proof that the log at one signed head is a prefix of the log at a later one. */
export type ConsistencyProofFile = z.infer<typeof consistencySchema>;
export type ProofFile = InclusionProofFile | ConsistencyProofFile;

/** Input that is not a proof of what it says: a malformed file, another incident, an unsigned head, a wrong key. */
export class ProofInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProofInputError';
  }
}

/** What checking a well-formed proof found. */
export type ProofVerdict =
  | { readonly ok: true; readonly summary: string }
  | { readonly ok: false; readonly reason: string };

/** The leaf of an entry as the log stores it: SHA-256(0x00 ‖ its RFC 8785 JSON). */
export function entryLeaf(entry: unknown): Buffer {
  const json = canonicalize(entry);
  if (json === undefined) throw new ProofInputError('the entry has no JSON form');
  return leafHash(Buffer.from(json, 'utf8'));
}

/** Whether a log's origin names this incident (`<log name>/ledger/<incident>`). */
function isOriginOf(origin: string, id: string): boolean {
  return origin.endsWith(`/ledger/${id}`);
}

/** What a schema issue says, in the words of the messages above. */
function issueText(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'is wrong';
  if (issue.code === 'unrecognized_keys') return `has a field it should not: ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'is missing';
  return issue.message;
}

/** Reads a proof file's text, or says in one line what is wrong with it. */
export function parseProofFile(text: string): ProofFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProofInputError('the proof file is not JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ProofInputError('the proof file is not a JSON object');
  }
  const { format, kind } = raw as { format?: unknown; kind?: unknown };
  if (format !== PROOF_FORMAT) {
    throw new ProofInputError(
      `the proof file's format is ${JSON.stringify(format ?? null)}, not ${JSON.stringify(PROOF_FORMAT)}`,
    );
  }
  const schema =
    kind === 'inclusion' ? inclusionSchema : kind === 'consistency' ? consistencySchema : undefined;
  if (!schema) {
    throw new ProofInputError(
      `the proof file's kind is ${JSON.stringify(kind ?? null)}, not "inclusion" or "consistency"`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new ProofInputError(`the proof file's ${where} ${issueText(issue)}`);
  }
  const file = parsed.data as ProofFile;
  sameIncident(file);
  return file;
}

/** Refuses a file whose parts belong to another incident than the one it names. */
function sameIncident(file: ProofFile): void {
  const heads =
    file.kind === 'inclusion'
      ? [['signed', file.head] as const]
      : ([
          ['from', file.from],
          ['to', file.to],
        ] as const);
  for (const [name, head] of heads) {
    if (!isOriginOf(head.origin, file.incidentId)) {
      throw new ProofInputError(
        `the proof is said to be of ${file.incidentId}, but its ${name} head is of the log ${head.origin}`,
      );
    }
  }
  if (file.kind === 'inclusion') {
    const own = file.entry.incidentId;
    if (own !== undefined && own !== file.incidentId) {
      throw new ProofInputError(
        `the proof is said to be of ${file.incidentId}, but its entry is of ${String(own)}`,
      );
    }
    if (file.seq !== file.index + 1) {
      throw new ProofInputError(`the proof's seq ${file.seq} is not its index ${file.index} + 1`);
    }
  }
}

/** Refuses a head the key did not sign. */
function signedBy(head: SignedHead, publicKey: KeyObject, name: string): void {
  const keyId = keyIdOf(publicKey.export({ format: 'der', type: 'spki' }));
  if (head.keyId !== keyId) {
    throw new ProofInputError(
      `the ${name} head was signed by key ${head.keyId}, not by this public key (${keyId})`,
    );
  }
  if (!verifyHeadSignature(head, publicKey)) {
    throw new ProofInputError(
      `the ${name} head's signature is not this key's: the log never signed a head of size ${head.size} with root ${head.root}`,
    );
  }
}

/**
 * Checks a proof file with the ledger's public key: its heads' signatures first (a head the key
 * did not sign is bad input), then the Merkle path.
 */
export function checkProofFile(file: ProofFile, publicKey: KeyObject): ProofVerdict {
  sameIncident(file);
  const hashes = file.proof.map((h) => Buffer.from(h, 'hex'));
  if (file.kind === 'inclusion') {
    signedBy(file.head, publicKey, 'signed');
    const { head, index } = file;
    if (index >= head.size) {
      return {
        ok: false,
        reason: `entry ${file.seq} is beyond the signed head, a log of ${head.size} entries`,
      };
    }
    const ok = verifyInclusion(
      entryLeaf(file.entry),
      index,
      head.size,
      hashes,
      Buffer.from(head.root, 'hex'),
    );
    return ok
      ? {
          ok: true,
          summary: `Entry ${file.seq} of ${file.incidentId} is in its log at the head of size ${head.size}, signed by key ${head.keyId}.`,
        }
      : {
          ok: false,
          reason: `entry ${file.seq} of ${file.incidentId} is not in the log at the signed head of size ${head.size}: the entry or the proof was changed`,
        };
  }
  signedBy(file.from, publicKey, 'from');
  signedBy(file.to, publicKey, 'to');
  const { from, to } = file;
  if (from.size === 0) {
    return {
      ok: true,
      summary: `The empty log of ${file.incidentId} is a prefix of every later one; the head of size ${to.size} is signed by key ${to.keyId}.`,
    };
  }
  if (from.size > to.size) {
    return {
      ok: false,
      reason: `the from head (size ${from.size}) is larger than the to head (size ${to.size})`,
    };
  }
  const ok = verifyConsistency(
    from.size,
    to.size,
    Buffer.from(from.root, 'hex'),
    Buffer.from(to.root, 'hex'),
    hashes,
  );
  return ok
    ? {
        ok: true,
        summary: `The log of ${file.incidentId} at size ${to.size} extends the log at size ${from.size}: nothing in the first ${from.size} entries was changed or removed. Both heads are signed by key ${to.keyId}.`,
      }
    : {
        ok: false,
        reason: `the log of ${file.incidentId} at size ${to.size} is not shown to extend the log at size ${from.size}: the heads or the proof do not agree`,
      };
}

/**
 * The inclusion proof of the entry at `seq` (1-based) against `head`, from the log's entries in
 * order (at least `head.size` of them). Refuses when the entries do not give the head's root: the
 * table does not hold the log the head was signed over, and `ledger verify` will say where.
 */
export function makeInclusionProof(
  id: string,
  entries: readonly Record<string, unknown>[],
  seq: number,
  head: SignedHead,
): InclusionProofFile {
  if (!Number.isInteger(seq) || seq < 1 || seq > head.size) {
    throw new Error(`${id} has no entry ${seq} at its signed head of ${head.size} entries`);
  }
  const leaves = leavesUpTo(id, entries, head);
  return {
    format: PROOF_FORMAT,
    kind: 'inclusion',
    incidentId: id,
    seq,
    index: seq - 1,
    entry: entries[seq - 1] as Record<string, unknown>,
    head: { ...head },
    proof: inclusionProof(leaves, seq - 1).map((h) => h.toString('hex')),
  };
}

/** The consistency proof from the head `from` to the later head `to`, from the log's entries in order. */
export function makeConsistencyProof(
  id: string,
  entries: readonly Record<string, unknown>[],
  from: SignedHead,
  to: SignedHead,
): ConsistencyProofFile {
  if (from.size > to.size) {
    throw new Error(`the from head (size ${from.size}) is after the to head (size ${to.size})`);
  }
  const leaves = leavesUpTo(id, entries, to);
  if (!rootOf(leaves.slice(0, from.size)).equals(Buffer.from(from.root, 'hex'))) {
    throw new Error(`the entries of ${id} do not give the root of its signed head of size ${from.size}`);
  }
  return {
    format: PROOF_FORMAT,
    kind: 'consistency',
    incidentId: id,
    from: { ...from },
    to: { ...to },
    proof: from.size === 0 ? [] : consistencyProof(leaves, from.size).map((h) => h.toString('hex')),
  };
}

function leavesUpTo(id: string, entries: readonly Record<string, unknown>[], head: SignedHead): Buffer[] {
  if (entries.length < head.size) {
    throw new Error(`${id}'s log holds ${entries.length} entries, fewer than its signed head's ${head.size}`);
  }
  const leaves = entries.slice(0, head.size).map(entryLeaf);
  if (!rootOf(leaves).equals(Buffer.from(head.root, 'hex'))) {
    throw new Error(`the entries of ${id} do not give the root of its signed head of size ${head.size}`);
  }
  return leaves;
}

/** A proof file as text: indented JSON, one trailing newline. */
export function renderProofFile(file: ProofFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** What proofs are made from: an incident's log as its table holds it. */
export interface ProvableLog {
  readonly incidentId: string;
  /** Every entry as stored (its leaf is its RFC 8785 JSON), in log order. */
  readonly entries: readonly Record<string, unknown>[];
  /** Its signed heads, in log order: one after each batch. */
  readonly heads: readonly SignedHead[];
}

/** The log's signed head of `size`; refuses a size no head has, or two heads of it that disagree. */
export function headOfSize(log: ProvableLog, size: number): SignedHead {
  const found = log.heads.filter((h) => h.size === size);
  const [head] = found;
  if (!head) {
    const sizes = [...new Set(log.heads.map((h) => h.size))];
    const shown = sizes.length > 12 ? [...sizes.slice(0, 6), '…', ...sizes.slice(-5)] : sizes;
    throw new Error(
      sizes.length === 0
        ? `${log.incidentId} has no signed head yet`
        : `${log.incidentId} has no signed head of size ${size}; its heads are of sizes ${shown.join(', ')}`,
    );
  }
  if (found.some((h) => h.root !== head.root)) {
    throw new Error(
      `${log.incidentId} has two signed heads of size ${size} with different roots: a forked log (casebook ledger verify names it)`,
    );
  }
  return head;
}

/** The newest signed head of the log. */
export function latestHead(log: ProvableLog): SignedHead {
  const head = log.heads.at(-1);
  if (!head) throw new Error(`${log.incidentId} has no signed head yet`);
  return head;
}

/** The inclusion proof of the entry at `seq` against the log's newest signed head. */
export function proveInclusion(log: ProvableLog, seq: number): InclusionProofFile {
  return makeInclusionProof(log.incidentId, log.entries, seq, latestHead(log));
}

/**
 * A signed head from a document that holds one: a case file's `ledger_head`, a proof file's head
 * (an inclusion proof's, or the later one of a consistency proof), or a head by itself.
 */
export function signedHeadIn(document: unknown): SignedHead {
  const doc = (document ?? {}) as Record<string, unknown>;
  const found = (doc.ledger_head ?? (doc.kind === 'consistency' ? doc.to : doc.head) ?? doc) as Record<
    string,
    unknown
  >;
  const { key_id: keyIdSnake, ...rest } = found;
  const parsed = signedHeadSchema.safeParse(keyIdSnake === undefined ? rest : { ...rest, keyId: keyIdSnake });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProofInputError(
      `no signed head there: its ${issue?.path.join('.') || 'content'} ${issueText(issue)}`,
    );
  }
  return parsed.data;
}

/** The log's head a size names, or the log's own head of a head someone kept — refused if the log's differs. */
function headFor(log: ProvableLog, wanted: number | SignedHead): SignedHead {
  if (typeof wanted === 'number') return headOfSize(log, wanted);
  if (!isOriginOf(wanted.origin, log.incidentId)) {
    throw new ProofInputError(`the head given is of the log ${wanted.origin}, not of ${log.incidentId}`);
  }
  const ours = headOfSize(log, wanted.size);
  if (ours.root !== wanted.root) {
    throw new Error(
      `${log.incidentId}'s signed head of size ${wanted.size} has root ${ours.root}, but the head given has root ${wanted.root}: the log was rewritten since (casebook ledger verify names where)`,
    );
  }
  return ours;
}

/**
 * The consistency proof between two of the log's signed heads, each named by its size or given as a
 * head someone kept (a case file's, an earlier proof's); the later one is the newest by default.
 */
export function proveConsistency(
  log: ProvableLog,
  from: number | SignedHead,
  to?: number | SignedHead,
): ConsistencyProofFile {
  const later = to === undefined ? latestHead(log) : headFor(log, to);
  return makeConsistencyProof(log.incidentId, log.entries, headFor(log, from), later);
}
