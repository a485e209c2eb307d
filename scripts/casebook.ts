#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
/**
 * `casebook`: the operator's and the auditor's command line, against the local stack or AWS.
 *
 *   casebook ledger verify [--incident ID] [--json]   every chain and every anchor, each chain against its anchored heads
 *   casebook ledger anchor [--reason TEXT]            writes a signed anchor of the heads changed since the last one
 *   casebook ledger rotate-key                        a new local sealing key (old ones kept)
 *   casebook ledger public-key                        the PEM public key that verifies signed heads
 *   casebook ledger prove --incident ID --seq N       an inclusion proof (or --from SIZE|FILE [--to …]:
 *                                                     a consistency proof), as a proof file
 *   casebook ledger check-proof FILE --public-key PEM checks a proof file offline
 *   casebook ledger export --period YYYY-MM [--to YYYY-MM] [--format parquet|csv] [--out PATH]
 *                                                     the ledger for finance (ledger/v1), by month
 *   casebook case-file ID                             the incident's case file (seed 000 §4 YAML)
 *
 * Without `--table` (or CASEBOOK_LEDGER_TABLE) it reads the local stack (`npm start`: its ports,
 * tables, bucket and key file under the data directory). With it, AWS with the caller's
 * credentials; the other names come from flags or from the same variables the functions read.
 * `casebook --help` lists every variable read in each mode (VARIABLES below).
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, Option } from 'commander';
import { kmsClient, s3Client, systemClock } from '../functions/adapters/aws.ts';
import { DynamoDbChangeMarks } from '../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../functions/adapters/dynamodb-workroom.ts';
import { headSignerFor, publicKeyFileOf } from '../functions/adapters/head-signer.ts';
import { FileKeySealer, KmsSealer, rotateKeyFile } from '../functions/adapters/ledger-sealer.ts';
import type { LedgerVerification } from '../functions/adapters/ledger-verification.ts';
import { verifyLedger } from '../functions/adapters/ledger-verification.ts';
import { S3AnchorStore } from '../functions/adapters/s3-anchor-store.ts';
import type { HeadSigner } from '../functions/domain/checkpoint.ts';
import { ledgerPublicKey } from '../functions/domain/checkpoint.ts';
import { DEFAULT_DEADLINE_POLICY } from '../functions/domain/deadlines.ts';
import type { Sealer } from '../functions/domain/ledger.ts';
import { ENV } from '../functions/env-names.ts';
import { anchorLedger, everyIncidentId } from '../functions/use-cases/anchor-ledger.ts';
import { getCaseFile } from '../functions/use-cases/read-incidents.ts';
import {
  defaultDataDir,
  LOCAL_BUCKETS,
  LOCAL_CREDENTIALS,
  LOCAL_TABLES,
  ledgerKeyFile,
  ledgerSigningKeyFile,
  PORTS,
  portsFromEnvironment,
} from '../local/names.ts';
import { addExportCommand } from './ledger-export.ts';
import { addProofCommands } from './ledger-proofs.ts';
import { addPeriodCommands, closeProblems, printCloseProblems } from './period.ts';
import { addPnlCommand } from './pnl.ts';
import { addReconcileCommand } from './reconcile.ts';

interface TargetOptions {
  table?: string;
  operationsTable?: string;
  anchorBucket?: string;
  kmsKeyId?: string;
  keyFile?: string;
  dataDir?: string;
}

/**
 * Every environment variable the CLI reads, by mode: `--help` prints this, README repeats it.
 * AWS mode when `--table` or CASEBOOK_LEDGER_TABLE names the ledger table; local mode otherwise.
 */
const row = (name: string, what: string) => `  ${name.padEnd(28)}${what}`;
const VARIABLES = [
  '',
  'Which mode:',
  `  AWS mode when --table or ${ENV.ledgerTable} names the ledger table; otherwise local mode.`,
  '',
  'Local mode (the stack of npm start on this machine) reads only:',
  row('CASEBOOK_DATA_DIR', "the stack's data directory (default .casebook/ in the repository);"),
  row('', 'the sealing key is <data dir>/keys/ledger.json, the signing key'),
  row('', '<data dir>/keys/ledger-signing.pem (its public key beside it, .pub.pem)'),
  row(PORTS.dynamodb.variable, `DynamoDB's port (default ${PORTS.dynamodb.port}), as npm start was given it`),
  row(PORTS.s3.variable, `S3's port (default ${PORTS.s3.port}), as npm start was given it`),
  "  It signs with the emulators' throwaway key pair and ignores every AWS_* variable: real",
  "  credentials never reach the emulators, and the tables and bucket are npm start's.",
  '',
  'AWS mode reads (a flag, where there is one, wins over its variable):',
  row(ENV.ledgerTable, 'the ledger table (--table)'),
  row(ENV.operationsTable, 'the operational table (--operations-table)'),
  row(ENV.anchorBucket, 'the bucket of anchored digests (--anchor-bucket)'),
  row(ENV.exportBucket, 'the bucket ledger exports go to (ledger export --export-bucket)'),
  row(ENV.closeFunction, 'the close function period close invokes (--close-function)'),
  row(ENV.ledgerKmsKeyId, 'the KMS HMAC key that seals entries (--kms-key-id)'),
  row(ENV.ledgerKeyFile, 'a key file instead of KMS (--key-file)'),
  row(ENV.ledgerSigningKmsKeyId, 'the KMS key that signs tree heads and anchors (--signing-kms-key-id)'),
  row(ENV.ledgerSigningKeyFile, 'a signing key file; its .pub.pem verifies heads (--signing-key-file;'),
  row('', 'verify, check-proof and pnl take --public-key instead)'),
  "  and the AWS SDK's own: AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,",
  '  AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3,',
  '  AWS_ENDPOINT_URL_KMS (and the rest of its chain: ~/.aws/config and credentials, SSO, roles).',
  '',
  'ledger check-proof reads no variable at all, in either mode: only the proof file and the key.',
].join('\n');

/** Where the records are, and the clients and keys to read them with. */
function target(options: TargetOptions) {
  const env = process.env;
  const table = options.table ?? env[ENV.ledgerTable];
  const local = !table;
  const dataDir = options.dataDir ?? defaultDataDir();
  if (local) {
    // The emulators of npm start, whatever else this shell points at: s3rver takes only its own
    // key pair, and real credentials must never reach an emulator.
    // Only the two ports it uses, so a stray value in another port variable stops nothing.
    const ports = portsFromEnvironment({
      [PORTS.dynamodb.variable]: env[PORTS.dynamodb.variable],
      [PORTS.s3.variable]: env[PORTS.s3.variable],
    });
    for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
    Object.assign(env, {
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${ports.dynamodb}`,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${ports.s3}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
  }
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const keyFile = options.keyFile ?? (local ? ledgerKeyFile(dataDir) : env[ENV.ledgerKeyFile]);
  const kmsKeyId = options.kmsKeyId ?? (local ? undefined : env[ENV.ledgerKmsKeyId]);
  // The key is loaded when first used: reading a case file needs none.
  let loaded: Sealer | undefined;
  const key = (): Sealer => {
    loaded ??= keyFile ? FileKeySealer.fromFile(keyFile) : new KmsSealer(kmsClient(), kmsKeyId ?? '');
    return loaded;
  };
  const sealer: Sealer = {
    seal: (hash) => key().seal(hash),
    verify: (hash, seal) => key().verify(hash, seal),
  };
  const operationsTable =
    options.operationsTable ?? (local ? LOCAL_TABLES.operations : env[ENV.operationsTable]);
  const anchorBucket = options.anchorBucket ?? (local ? LOCAL_BUCKETS.anchors : env[ENV.anchorBucket]);
  const s3 = s3Client();
  const signingKeyFile = local ? ledgerSigningKeyFile(dataDir) : env[ENV.ledgerSigningKeyFile];
  const signingKmsKeyId = local ? undefined : env[ENV.ledgerSigningKmsKeyId];
  // The signer, for anchoring; its public key, for verifying (a file beside a key file, or KMS's).
  const headSigner = (): HeadSigner => {
    if (signingKeyFile) return headSignerFor({ kind: 'file', path: signingKeyFile }, kmsClient);
    if (signingKmsKeyId) return headSignerFor({ kind: 'kms', keyId: signingKmsKeyId }, kmsClient);
    throw new Error(`no ledger signing key: set ${ENV.ledgerSigningKmsKeyId} or ${ENV.ledgerSigningKeyFile}`);
  };
  const publicKey = async (file?: string) => {
    if (file) return ledgerPublicKey(readFileSync(file, 'utf8'));
    if (signingKeyFile) {
      const beside = publicKeyFileOf(signingKeyFile);
      try {
        return ledgerPublicKey(readFileSync(beside, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    }
    return signingKmsKeyId ? ledgerPublicKey(await headSigner().publicKey()) : undefined;
  };
  return {
    headSigner,
    publicKey,
    db,
    sealer,
    keyFile,
    kmsKeyId,
    ledgerTable: table ?? LOCAL_TABLES.ledger,
    operationsTable,
    operations: operationsTable ? new DynamoDbOperationsStore(db, operationsTable) : undefined,
    workroom: operationsTable ? new DynamoDbWorkroom(db, operationsTable) : undefined,
    anchors: anchorBucket ? new S3AnchorStore(s3, anchorBucket) : undefined,
    anchorBucket,
    exportBucket: local ? LOCAL_BUCKETS.exports : env[ENV.exportBucket],
  };
}

function addTargetOptions(command: Command): Command {
  return command
    .option('--table <name>', `the ledger table on AWS (default: ${ENV.ledgerTable}, else the local stack)`)
    .option(
      '--operations-table <name>',
      `the operational table (default: ${ENV.operationsTable} on AWS, ${LOCAL_TABLES.operations} locally)`,
    )
    .option(
      '--anchor-bucket <name>',
      `the bucket of anchored digests (default: ${ENV.anchorBucket} on AWS, ${LOCAL_BUCKETS.anchors} locally)`,
    )
    .option(
      '--kms-key-id <id>',
      `the KMS HMAC key that seals entries on AWS (default: ${ENV.ledgerKmsKeyId})`,
    )
    .option(
      '--key-file <path>',
      `a key file (default: ${ENV.ledgerKeyFile} on AWS, <data dir>/keys/ledger.json locally)`,
    )
    .option('--data-dir <path>', 'the local stack data directory (default: CASEBOOK_DATA_DIR or .casebook/)')
    .addHelpText('after', VARIABLES);
}

/** A bar on stderr while anchors and then incidents are checked, only when stderr is a terminal. */
function progressBar(): ((done: number, total: number, what: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, what) => {
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${what}\u001b[K`,
    );
    if (done === total) process.stderr.write('\n');
  };
}

function printVerification(report: LedgerVerification): void {
  for (const incident of report.incidents) {
    const verdict =
      incident.problems.length === 0 ? 'chain intact' : `${incident.problems.length} problem(s)`;
    console.log(`${incident.incidentId}: ${incident.entries} entries, ${verdict}`);
    for (const p of incident.problems) console.log(`  seq ${p.seq}: ${p.problem} — ${p.detail}`);
  }
  if (report.incidents.length === 0) console.log('No incidents and no ledger entries.');
  const { anchors } = report;
  for (const p of anchors.problems) console.log(`anchor ${p.key}: ${p.problem} — ${p.detail}`);
  if (anchors.digest && !anchors.digest.genuine)
    console.log(
      `The digest ${anchors.digest.key} is NOT genuine (its hash or seal is wrong): someone wrote it without the key.`,
    );
  if (anchors.last)
    console.log(
      `Walked ${anchors.anchors} anchor(s); checked against anchor ${anchors.last.number} (${anchors.last.key}) of ${anchors.last.createdAt}.`,
    );
  else if (anchors.digest?.genuine)
    console.log(`Checked against the digest ${anchors.digest.key} of ${anchors.digest.createdAt}.`);
  else console.log('No anchor yet: a chain cut short or rewritten since it began would not show.');
  console.log(
    report.ok
      ? 'Ledger verified: nothing edited, inserted, reordered, removed or rewritten; every anchor in place.'
      : 'Ledger NOT verified.',
  );
}

const program = new Command('casebook')
  .description('Casebook operator and auditor commands')
  .addHelpText('after', VARIABLES);
const ledger = program.command('ledger').description('the Effect Ledger and Decision Log');

addTargetOptions(
  ledger
    .command('verify')
    .description(
      'recompute every chain (hashes, seals, links, signed heads), walk every anchor, and prove each chain extends its anchored head',
    )
    .option('--incident <id>', 'verify one incident only')
    .option(
      '--public-key <pem>',
      'the ledger signing key’s public key (default: beside the signing key file, or KMS GetPublicKey)',
    )
    .addOption(new Option('--json', 'print the report as JSON')),
).action(async (options: TargetOptions & { incident?: string; json?: boolean; publicKey?: string }) => {
  const t = target(options);
  const publicKey = await t.publicKey(options.publicKey);
  const report = await verifyLedger(
    {
      db: t.db,
      ledgerTable: t.ledgerTable,
      sealer: t.sealer,
      ...(publicKey ? { publicKey } : {}),
      ...(t.anchors ? { anchors: t.anchors } : {}),
      ...(t.operations
        ? { incidentIds: () => everyIncidentId(t.operations as DynamoDbOperationsStore) }
        : {}),
    },
    {
      ...(options.incident ? { incidentId: options.incident } : {}),
      ...(options.json ? {} : { onProgress: progressBar() }),
    },
  );
  // The chain of closes too, when there is one: a month's close seals heads this ledger must keep.
  const found =
    !options.incident && t.anchorBucket ? await closeProblems(t, t.anchorBucket, publicKey) : undefined;
  const closes = found && (found.closes > 0 || found.problems.length > 0) ? found : undefined;
  if (options.json) console.log(JSON.stringify(closes ? { ...report, closes } : report, null, 2));
  else {
    printVerification(report);
    if (closes) printCloseProblems(closes);
  }
  process.exitCode = report.ok && (closes?.problems.length ?? 0) === 0 ? 0 : 1;
});

addTargetOptions(
  ledger
    .command('anchor')
    .description('write a signed anchor of the incident heads changed since the last anchor, now')
    .option('--reason <text>', 'why (recorded in the digest)', 'manual'),
).action(async (options: TargetOptions & { reason: string }) => {
  const t = target(options);
  if (!t.anchors || !t.operations)
    throw new Error('anchor needs --anchor-bucket and --operations-table on AWS');
  const result = await anchorLedger(
    {
      incidents: t.operations,
      ledger: new DynamoDbLedger(t.db, t.ledgerTable, { sealer: t.sealer }),
      anchors: t.anchors,
      changes: new DynamoDbChangeMarks(t.db, t.operationsTable as string),
      signer: t.headSigner(),
      clock: systemClock,
    },
    options.reason,
  );
  console.log(
    result.written
      ? `Anchored ${result.chains} incident head(s) in ${result.key}.`
      : `Nothing changed since anchor ${result.number} (${result.key}): no new anchor.`,
  );
});

addTargetOptions(
  ledger
    .command('rotate-key')
    .description('add a new local sealing key and make it current; old keys stay for verifying'),
).action((options: TargetOptions) => {
  const { keyFile } = target(options);
  if (!keyFile)
    throw new Error(
      'On AWS, rotate the KMS key (or point the stack at a new one); old keys stay for VerifyMac.',
    );
  console.log(`New sealing key ${rotateKeyFile(keyFile)} in ${keyFile}. Restart npm start to seal with it.`);
});

addProofCommands(ledger, { target, addTargetOptions });
addExportCommand(ledger, { target, addTargetOptions, progressBar });
addPnlCommand(program);
addReconcileCommand(program, { target, addTargetOptions });
addPeriodCommands(program, { target, addTargetOptions });

addTargetOptions(
  program
    .command('case-file')
    .description("print an incident's case file (seed 000 §4 YAML) from its records")
    .argument('<id>', 'the incident, e.g. INC-2026-0001'),
).action(async (incidentId: string, options: TargetOptions) => {
  const t = target(options);
  if (!t.operations || !t.workroom) throw new Error('case-file needs --operations-table on AWS');
  const yaml = await getCaseFile(
    {
      incidents: t.operations,
      ledger: new DynamoDbLedger(t.db, t.ledgerTable, { sealer: t.sealer }),
      postmortems: t.workroom,
      policy: DEFAULT_DEADLINE_POLICY,
      clock: systemClock,
    },
    incidentId,
  );
  process.stdout.write(yaml);
});

await program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`casebook: ${error.message}`);
  process.exitCode = 2;
});
