/**
 * `casebook ledger public-key`, `prove` and `check-proof`: what a third party needs to check the
 * ledger with the public key alone. `prove` reads the incident's log from the table (local stack or
 * AWS, as every other command); `check-proof` reads nothing but the proof file and the key, so it
 * runs anywhere, with no stack, no AWS and no variables.
 *
 * Exit status: 0 the proof checks; 1 it does not; 2 bad input (a malformed proof file, one of
 * another incident than it says, a head the key never signed, a key that is not ECDSA P-256) —
 * always one line on stderr, never a stack trace.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { kmsClient } from '../functions/adapters/aws.ts';
import { KmsHeadSigner, publicKeyFileOf } from '../functions/adapters/head-signer.ts';
import { readProvableLog } from '../functions/adapters/provable-log.ts';
import type { SignedHead } from '../functions/domain/checkpoint.ts';
import { ledgerPublicKey } from '../functions/domain/checkpoint.ts';
import type { ProofFile } from '../functions/domain/proof-file.ts';
import {
  checkProofFile,
  ProofInputError,
  parseProofFile,
  proveConsistency,
  proveInclusion,
  renderProofFile,
  signedHeadIn,
} from '../functions/domain/proof-file.ts';
import { ENV } from '../functions/env-names.ts';
import { defaultDataDir, ledgerSigningKeyFile } from '../local/names.ts';

/** What `casebook.ts` lends these commands: how it finds the tables, and its shared options. */
export interface ProofCommandContext {
  readonly target: (options: Record<string, unknown>) => {
    readonly db: Parameters<typeof readProvableLog>[0];
    readonly ledgerTable: string;
  };
  readonly addTargetOptions: (command: Command) => Command;
}

/** Why a file could not be read, in words. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'no such file'
    : code === 'EACCES'
      ? 'permission denied'
      : code === 'EISDIR'
        ? 'it is a directory'
        : (code ?? 'unreadable');
}

/** Usage mistakes on these commands exit 2 like any other bad input (commander's own default is 1). */
function badUsageExitsTwo(command: Command): Command {
  return command.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });
}

/** A whole number from an option, or a one-line refusal. */
function wholeNumber(name: string, min: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,16}$/.test(value) || Number(value) < min) {
      throw new ProofInputError(`${name} must be a whole number of at least ${min}, not "${value}"`);
    }
    return Number(value);
  };
}

/** A head named by its size, or read from a file that holds one (YAML or JSON). */
function sizeOrHead(name: string): (value: string) => number | SignedHead {
  return (value) => {
    if (/^\d+$/.test(value)) return wholeNumber(name, 0)(value);
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new ProofInputError(
        `${name} is neither a size nor a readable file (${value}: ${unreadable(error)})`,
      );
    }
    let document: unknown;
    try {
      document = parse(text);
    } catch {
      throw new ProofInputError(`${name} ${value} is neither YAML nor JSON`);
    }
    try {
      return signedHeadIn(document);
    } catch (error) {
      throw new ProofInputError(`${name} ${value} holds ${(error as Error).message}`);
    }
  };
}

/** A public key from a PEM file (or PEM text), refused unless it is an ECDSA P-256 public key. */
export function readPublicKey(where: string): KeyObject {
  let pem: string;
  if (where.startsWith('-----BEGIN')) pem = where;
  else {
    try {
      pem = readFileSync(where, 'utf8');
    } catch (error) {
      throw new ProofInputError(`cannot read the public key ${where}: ${unreadable(error)}`);
    }
  }
  const name = where.startsWith('-----BEGIN') ? 'the public key given' : `the public key ${where}`;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new ProofInputError(`${name} is a private key: give the public key (the .pub.pem beside it)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new ProofInputError(`${name} is not a PEM public key`);
  }
  try {
    return ledgerPublicKey(key);
  } catch (error) {
    throw new ProofInputError(`${name} is ${(error as Error).message}`);
  }
}

/** Reads and parses a proof file, or says in one line why not. */
function readProofFile(path: string): ProofFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ProofInputError(`cannot read the proof file ${path}: ${unreadable(error)}`);
  }
  return parseProofFile(text);
}

/** The ledger signing key's public key, PEM: the local stack's key file, or KMS `GetPublicKey`. */
export async function publicKeyPem(options: {
  signingKmsKeyId?: string;
  signingKeyFile?: string;
  dataDir?: string;
  table?: string;
}): Promise<string> {
  const env = process.env;
  const aws = Boolean(options.signingKmsKeyId ?? options.table ?? env[ENV.ledgerTable]);
  const kmsKeyId = options.signingKmsKeyId ?? (aws ? env[ENV.ledgerSigningKmsKeyId] : undefined);
  if (kmsKeyId) {
    const der = await new KmsHeadSigner(kmsClient(), kmsKeyId).publicKey();
    return createPublicKey({ key: der, format: 'der', type: 'spki' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
  }
  const keyFile =
    options.signingKeyFile ??
    (aws ? env[ENV.ledgerSigningKeyFile] : ledgerSigningKeyFile(options.dataDir ?? defaultDataDir()));
  if (!keyFile) {
    throw new Error(`public-key needs --signing-kms-key-id or ${ENV.ledgerSigningKmsKeyId} on AWS`);
  }
  const file = publicKeyFileOf(keyFile);
  if (!existsSync(file)) {
    throw new Error(
      `No ledger signing key at ${file}: the local stack makes it when it first starts (npm start)`,
    );
  }
  // Read back through the key check, so what is printed is a P-256 public key and nothing else.
  return readPublicKey(file).export({ format: 'pem', type: 'spki' }).toString();
}

/** Adds `public-key`, `prove` and `check-proof` to the `ledger` command. */
export function addProofCommands(ledger: Command, context: ProofCommandContext): void {
  badUsageExitsTwo(
    ledger
      .command('public-key')
      .description('print the PEM public key that verifies every signed tree head and proof')
      .option(
        '--signing-kms-key-id <id>',
        `the KMS key that signs heads on AWS (default: ${ENV.ledgerSigningKmsKeyId})`,
      )
      .option(
        '--signing-key-file <path>',
        'a local signing key file; its public key is the .pub.pem beside it',
      )
      .option('--table <name>', `AWS mode, as for the other commands (default: ${ENV.ledgerTable})`)
      .option(
        '--data-dir <path>',
        'the local stack data directory (default: CASEBOOK_DATA_DIR or .casebook/)',
      ),
  ).action(
    async (options: {
      signingKmsKeyId?: string;
      signingKeyFile?: string;
      dataDir?: string;
      table?: string;
    }) => {
      process.stdout.write(await publicKeyPem(options));
    },
  );

  badUsageExitsTwo(
    context.addTargetOptions(
      ledger
        .command('prove')
        .description(
          "print a proof file: --seq N, the entry at log place N is in the incident's log at its newest signed head; --from SIZE|FILE [--to SIZE|FILE], the log at one signed head (by size, or as a case file or proof file holds it) extends the log at an earlier one",
        )
        .requiredOption('--incident <id>', 'the incident, e.g. INC-2026-0001')
        .option('--seq <n>', 'the log place (1-based) of the entry to prove', wholeNumber('--seq', 1))
        .option(
          '--from <size|file>',
          'the earlier signed head: its size, or a file holding it (a case file, a proof file)',
          sizeOrHead('--from'),
        )
        .option(
          '--to <size|file>',
          'the later signed head, as --from (default: the newest)',
          sizeOrHead('--to'),
        )
        .option('--out <file>', 'write the proof file there instead of to stdout'),
    ),
  ).action(
    async (
      options: {
        incident: string;
        seq?: number;
        from?: number | SignedHead;
        to?: number | SignedHead;
        out?: string;
      } & Record<string, unknown>,
    ) => {
      if ((options.seq === undefined) === (options.from === undefined)) {
        throw new ProofInputError('prove needs either --seq N (inclusion) or --from SIZE|FILE (consistency)');
      }
      if (options.seq !== undefined && options.to !== undefined) {
        throw new ProofInputError(
          '--to goes with --from; an inclusion proof is against the newest signed head',
        );
      }
      const t = context.target(options);
      const log = await readProvableLog(t.db, t.ledgerTable, options.incident);
      const proof =
        options.seq !== undefined
          ? proveInclusion(log, options.seq)
          : proveConsistency(log, options.from as number | SignedHead, options.to);
      if (options.out) {
        writeFileSync(options.out, renderProofFile(proof));
        console.error(`Wrote the ${proof.kind} proof to ${options.out}.`);
      } else process.stdout.write(renderProofFile(proof));
    },
  );

  badUsageExitsTwo(
    ledger
      .command('check-proof')
      .description('check a proof file offline, with the public key alone (no stack, no AWS)')
      .argument('<file>', 'the proof file, as casebook ledger prove wrote it')
      .requiredOption(
        '--public-key <pem>',
        'the ledger public key: a PEM file (casebook ledger public-key prints it)',
      ),
  ).action((file: string, options: { publicKey: string }) => {
    const publicKey = readPublicKey(options.publicKey);
    const verdict = checkProofFile(readProofFile(file), publicKey);
    if (verdict.ok) console.log(verdict.summary);
    else console.log(`Proof NOT verified: ${verdict.reason}.`);
    process.exitCode = verdict.ok ? 0 : 1;
  });
}
