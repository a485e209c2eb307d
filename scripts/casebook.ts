#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
/**
 * `casebook`: the operator's and the auditor's command line, against the local stack or AWS.
 *
 *   casebook ledger verify [--incident ID] [--json]   every chain, checked against the latest digest
 *   casebook ledger anchor [--reason TEXT]            writes a digest of every chain head now
 *   casebook ledger rotate-key                        a new local sealing key (old ones kept)
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
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../functions/adapters/dynamodb-workroom.ts';
import { publicKeyFileOf } from '../functions/adapters/head-signer.ts';
import { FileKeySealer, KmsSealer, rotateKeyFile } from '../functions/adapters/ledger-sealer.ts';
import type { LedgerVerification } from '../functions/adapters/ledger-verification.ts';
import { verifyLedger } from '../functions/adapters/ledger-verification.ts';
import { S3AnchorStore } from '../functions/adapters/s3-anchor-store.ts';
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
  row('', 'the sealing key is <data dir>/keys/ledger.json, the heads’ public key'),
  row('', '<data dir>/keys/ledger-signing.pub.pem'),
  row(PORTS.dynamodb.variable, `DynamoDB's port (default ${PORTS.dynamodb.port}), as npm start was given it`),
  row(PORTS.s3.variable, `S3's port (default ${PORTS.s3.port}), as npm start was given it`),
  "  It signs with the emulators' throwaway key pair and ignores every AWS_* variable: real",
  "  credentials never reach the emulators, and the tables and bucket are npm start's.",
  '',
  'AWS mode reads (a flag, where there is one, wins over its variable):',
  row(ENV.ledgerTable, 'the ledger table (--table)'),
  row(ENV.operationsTable, 'the operational table (--operations-table)'),
  row(ENV.anchorBucket, 'the bucket of anchored digests (--anchor-bucket)'),
  row(ENV.ledgerKmsKeyId, 'the KMS HMAC key that seals entries (--kms-key-id)'),
  row(ENV.ledgerKeyFile, 'a key file instead of KMS (--key-file)'),
  row(ENV.ledgerSigningKeyFile, 'a signing key file whose .pub.pem verifies heads (--public-key)'),
  "  and the AWS SDK's own: AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,",
  '  AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3,',
  '  AWS_ENDPOINT_URL_KMS (and the rest of its chain: ~/.aws/config and credentials, SSO, roles).',
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
  return {
    db,
    sealer,
    keyFile,
    kmsKeyId,
    ledgerTable: table ?? LOCAL_TABLES.ledger,
    operations: operationsTable ? new DynamoDbOperationsStore(db, operationsTable) : undefined,
    workroom: operationsTable ? new DynamoDbWorkroom(db, operationsTable) : undefined,
    anchors: anchorBucket ? new S3AnchorStore(s3, anchorBucket) : undefined,
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

function progressBar(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} incidents`);
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
  if (!report.anchor) console.log('No anchored digest yet: a chain cut short since it began would not show.');
  else
    console.log(
      report.anchor.genuine
        ? `Checked against the digest ${report.anchor.key} of ${report.anchor.createdAt}.`
        : `The latest digest ${report.anchor.key} is NOT genuine (its hash or seal is wrong): someone wrote it without the key.`,
    );
  console.log(
    report.ok ? 'Ledger verified: nothing edited, inserted, reordered or removed.' : 'Ledger NOT verified.',
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
      'recompute every chain (hashes, seals, links) and check it against the latest anchored digest',
    )
    .option('--incident <id>', 'verify one incident only')
    .option('--public-key <pem>', 'the public key (SPKI PEM) that signs the tree heads')
    .addOption(new Option('--json', 'print the report as JSON')),
).action(async (options: TargetOptions & { incident?: string; json?: boolean; publicKey?: string }) => {
  const local = !(options.table ?? process.env[ENV.ledgerTable]);
  const signingKey = local
    ? ledgerSigningKeyFile(options.dataDir ?? defaultDataDir())
    : process.env[ENV.ledgerSigningKeyFile];
  const publicKeyFile = options.publicKey ?? (signingKey ? publicKeyFileOf(signingKey) : undefined);
  const publicKey =
    publicKeyFile && (options.publicKey || existsSync(publicKeyFile))
      ? ledgerPublicKey(readFileSync(publicKeyFile, 'utf8'))
      : undefined;
  const t = target(options);
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
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else printVerification(report);
  process.exitCode = report.ok ? 0 : 1;
});

addTargetOptions(
  ledger
    .command('anchor')
    .description('write a sealed digest of every chain head to the anchor bucket now')
    .option('--reason <text>', 'why (recorded in the digest)', 'manual'),
).action(async (options: TargetOptions & { reason: string }) => {
  const t = target(options);
  if (!t.anchors || !t.operations)
    throw new Error('anchor needs --anchor-bucket and --operations-table on AWS');
  if (!t.keyFile && !t.kmsKeyId) throw new Error('anchor needs --kms-key-id on AWS: the digest is sealed');
  const result = await anchorLedger(
    {
      incidents: t.operations,
      ledger: new DynamoDbLedger(t.db, t.ledgerTable, { sealer: t.sealer }),
      anchors: t.anchors,
      sealer: t.sealer,
      clock: systemClock,
    },
    options.reason,
  );
  console.log(`Anchored ${result.chains} chain head(s) in ${result.key}.`);
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
