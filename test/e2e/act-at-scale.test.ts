/**
 * Act at scale on the local stack (real emulators, the real state machine and handlers): a plan
 * that notifies 1,000 customers, approved through the e-mailed links, is carried out in full —
 * 1,000 confirmed ledger entries, 1,000 e-mails in the SES store, each customer told once, and a
 * ledger that still verifies. The customers and the plan are written through the use cases the
 * workroom calls (its HTTP path is covered by casework.test.ts and the casework bench), and the
 * lifecycle starts from Decide.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { publicKeyFileOf } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer } from '../../functions/adapters/ledger-sealer.ts';
import { pseudonymizer } from '../../functions/adapters/pseudonyms.ts';
import { ledgerPublicKey } from '../../functions/domain/checkpoint.ts';
import type { LedgerEntryV3 } from '../../functions/domain/ledger.ts';
import { verifyChain } from '../../functions/domain/ledger.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import { LOCAL_CREDENTIALS, ledgerKeyFile, ledgerSigningKeyFile } from '../../local/names.ts';
import type { LocalStack } from '../../local/stack.ts';
import { plainIncident } from '../support/incidents.ts';
import {
  approvalLinks,
  approve,
  freePorts,
  inbox,
  resolvedCase,
  start,
  tempDataDir,
} from '../support/local-stack.ts';

const CUSTOMERS = 1_000;
let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDataDir();
  stack = await start(dataDir, await freePorts());
});
afterAll(() => stack?.close());

describe('Act at scale on the local stack', () => {
  it('notifies 1,000 customers once each, with 1,000 confirmed ledger entries and a chain that verifies', async () => {
    const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }),
    );
    const store = new DynamoDbOperationsStore(db, stack.tables.operations);
    const effects = new DynamoDbEffectStore(db, stack.tables.operations);
    const incident = { ...plainIncident(7), id: 'INC-2026-7000', correlationKey: 'scale' };
    await store.createIncident(incident);
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({
      customerRef: `cus_${i + 1}`,
      email: `customer-${i + 1}@example.com`,
      name: `Customer ${i + 1}`,
    }));
    await recordCustomers({ effects, incidents: store }, incident, customers);
    const pseudonym = pseudonymizer({
      kind: 'value',
      value: readFileSync(join(dataDir, 'keys', 'pseudonym.key'), 'utf8').trim(),
    });
    const plan = await submitPlan(
      { incidents: store, effects, pseudonym, clock: { now: () => new Date() } },
      incident.id,
      {
        summary: 'Tell every affected customer',
        apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
        effects: [],
      },
      'sre@example.com',
    );
    expect(plan.effectCount).toBe(CUSTOMERS);

    const sfn = new SFNClient({ ...aws, endpoint: stack.endpoints.stepFunctions });
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: incident.id,
        input: JSON.stringify({ incidentId: incident.id, resumeFrom: 'Decide' }),
      }),
    );
    for (const [role, link] of await approvalLinks(stack, incident.id, 1)) {
      expect((await approve(link, `ok from ${role}`)).status).toBe(303);
    }
    // Act is done: the incident waits in Learn for its postmortem.
    const resolved = await resolvedCase(stack, incident.id, 240_000);
    expect(resolved.incident.phase).toBe('Learn');

    const sent = (await inbox(stack)).filter((m) => m.destination.to[0]?.startsWith('customer-'));
    expect(sent).toHaveLength(CUSTOMERS);
    expect(new Set(sent.map((m) => m.destination.to[0])).size).toBe(CUSTOMERS);

    const ledger = new DynamoDbLedger(db, stack.tables.ledger);
    const entries = (await ledger.read(incident.id)) as LedgerEntryV3[];
    const confirmed = entries.filter((e) => e.kind === 'notice' && e.state === 'confirmed');
    expect(confirmed).toHaveLength(CUSTOMERS);
    expect(new Set(confirmed.map((e) => e.effectId)).size).toBe(CUSTOMERS);
    expect(JSON.stringify(entries)).not.toContain('@example.com');
    // Act's entries went in batches: fewer chain items than entries, and every item verifies.
    const items = await ledger.readChain(incident.id);
    expect(items.length).toBeLessThan(entries.length);
    const keys = {
      sealer: FileKeySealer.fromFile(ledgerKeyFile(dataDir)),
      publicKey: ledgerPublicKey(readFileSync(publicKeyFileOf(ledgerSigningKeyFile(dataDir)), 'utf8')),
    };
    expect(await verifyChain(incident.id, items, keys)).toEqual([]);
  }, 300_000);
});
