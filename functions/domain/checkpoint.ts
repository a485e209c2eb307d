/**
 * Signed tree heads. A head is a checkpoint in the C2SP `tlog-checkpoint` text form — the origin
 * (which log: one incident's), the tree size in decimal and the root hash in base64, each on a line
 * of its own — signed with an ECDSA P-256 key over exactly those bytes (SHA-256, the signature
 * DER-encoded as KMS and `crypto.sign` return it). Anyone holding the public key (SPKI) checks a
 * head with `crypto.verify`, with no access to Casebook or AWS.
 *
 * A head is also written as a C2SP `signed-note`: the checkpoint, a blank line, and a signature
 * line `— <key name> base64(key id ‖ signature)`, where the key id is the first four bytes of
 * SHA-256 over the public key's DER SPKI (the signed-note rule for ECDSA keys).
 */
import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, verify } from 'node:crypto';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The tree's root hash, hex. */
  readonly root: string;
}

/** A checkpoint and the signature over its text. */
export interface SignedHead extends Checkpoint {
  /** DER ECDSA P-256 signature over {@link checkpointText}, base64. */
  readonly signature: string;
  /** The signing key's id: the first four bytes of SHA-256 over its DER SPKI, hex. */
  readonly keyId: string;
}

/** Signs checkpoint bytes: a local P-256 key, or an asymmetric KMS key nobody can read. */
export interface HeadSigner {
  /** DER-encoded ECDSA P-256 signature over SHA-256 of `message`. */
  sign(message: Uint8Array): Promise<Buffer>;
  /** The public key, DER SPKI. */
  publicKey(): Promise<Buffer>;
}

/** The origin line of an incident's log: one log per incident, named by the deployment's log name. */
export function ledgerOrigin(incidentId: string, logName = 'casebook'): string {
  return `${logName}/ledger/${incidentId}`;
}

/** No spaces, no '+', no control characters: the C2SP rules for an origin (and a key name). */
const isOrigin = (text: string): boolean =>
  /^[^\s+]{1,400}$/.test(text) && [...text].every((c) => c.charCodeAt(0) >= 0x20);
const SIZE = /^(0|[1-9][0-9]{0,15})$/;

/** The checkpoint's signed bytes, as text. */
export function checkpointText(checkpoint: Checkpoint): string {
  if (!isOrigin(checkpoint.origin)) throw new Error(`An origin without spaces or '+': ${checkpoint.origin}`);
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw new Error(`A tree size of ${checkpoint.size}`);
  }
  if (!/^[0-9a-f]{64}$/.test(checkpoint.root)) throw new Error('A root hash of 64 hex digits');
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root, 'hex').toString('base64')}\n`;
}

/** Reads a checkpoint's text (extension lines after the root are allowed and ignored). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  const [origin, size, root] = lines;
  if (lines.length < 4 || lines.at(-1) !== '')
    throw new Error('a checkpoint is at least three lines, each ending in a newline');
  if (!origin || !isOrigin(origin)) throw new Error('the checkpoint’s first line is not an origin');
  if (!size || !SIZE.test(size))
    throw new Error('the checkpoint’s second line is not a tree size in decimal');
  const rootBytes = Buffer.from(root ?? '', 'base64');
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root) {
    throw new Error('the checkpoint’s third line is not a base64 SHA-256 root hash');
  }
  return { origin, size: Number(size), root: rootBytes.toString('hex') };
}

/** The id of a public key (DER SPKI): the first four bytes of its SHA-256, hex. */
export function keyIdOf(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest().subarray(0, 4).toString('hex');
}

const keyIds = new WeakMap<KeyObject, string>();

/** A public key's id, worked out once per key object: verify checks one head per chain item. */
function keyIdOfKey(publicKey: KeyObject): string {
  let id = keyIds.get(publicKey);
  if (!id) {
    id = keyIdOf(publicKey.export({ format: 'der', type: 'spki' }));
    keyIds.set(publicKey, id);
  }
  return id;
}

/** Signs a checkpoint. */
export async function signHead(signer: HeadSigner, checkpoint: Checkpoint): Promise<SignedHead> {
  const [signature, spki] = await Promise.all([
    signer.sign(Buffer.from(checkpointText(checkpoint), 'utf8')),
    signer.publicKey(),
  ]);
  return { ...checkpoint, signature: signature.toString('base64'), keyId: keyIdOf(spki) };
}

/**
 * An ECDSA P-256 public key from PEM or DER SPKI; any other key is refused with a message that
 * says what it is instead.
 */
export function ledgerPublicKey(key: string | Uint8Array | KeyObject): KeyObject {
  const object =
    typeof key === 'string' || key instanceof Uint8Array
      ? createPublicKey(
          typeof key === 'string'
            ? { key, format: 'pem' }
            : { key: Buffer.from(key), format: 'der', type: 'spki' },
        )
      : key;
  if (object.type !== 'public') throw new Error(`a ${object.type} key, not a public key`);
  const curve = object.asymmetricKeyDetails?.namedCurve;
  if (object.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new Error(
      `a ${object.asymmetricKeyType?.toUpperCase() ?? 'unknown'}${curve ? ` ${curve}` : ''} key, not an ECDSA P-256 key`,
    );
  }
  return object;
}

/** Whether the head's signature is the key's over its checkpoint text. */
export function verifyHeadSignature(head: SignedHead, publicKey: KeyObject): boolean {
  let text: string;
  try {
    text = checkpointText(head);
  } catch {
    return false;
  }
  const signature = Buffer.from(head.signature, 'base64');
  if (signature.length === 0) return false;
  if (head.keyId !== keyIdOfKey(publicKey)) return false;
  return verify('sha256', Buffer.from(text, 'utf8'), { key: publicKey, dsaEncoding: 'der' }, signature);
}

/** The head as a C2SP signed note. */
export function signedNote(head: SignedHead, keyName: string): string {
  const blob = Buffer.concat([Buffer.from(head.keyId, 'hex'), Buffer.from(head.signature, 'base64')]);
  return `${checkpointText(head)}\n— ${keyName} ${blob.toString('base64')}\n`;
}

/** Reads a signed note of a checkpoint (its first signature line). */
export function parseSignedNote(note: string): { readonly head: SignedHead; readonly keyName: string } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('a signed note is the checkpoint, a blank line and a signature line');
  const checkpoint = parseCheckpoint(note.slice(0, split + 1));
  const line = note.slice(split + 2).split('\n')[0] ?? '';
  const match = /^— (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
  if (!match) throw new Error('the signature line is not “— <key name> <base64>”');
  const blob = Buffer.from(match[2] as string, 'base64');
  if (blob.length < 5) throw new Error('the signature line holds no signature');
  return {
    keyName: match[1] as string,
    head: {
      ...checkpoint,
      keyId: blob.subarray(0, 4).toString('hex'),
      signature: blob.subarray(4).toString('base64'),
    },
  };
}
