import { App, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { LEDGER_EXPORT_PREFIX } from '../../functions/domain/ledger-export.ts';
import { CLOSE_PREFIX } from '../../functions/domain/period-close.ts';
import { addCasebookChecks } from '../../lib/checks.ts';
import { bucketObjectsFinding, executionsFinding } from '../../lib/constructs/casebook-function.ts';
import { sameStackObjectsFinding } from '../../lib/constructs/finance.ts';
import { buildCasebookApp } from './casebook-app.ts';

/**
 * The findings Casebook acknowledges, each with its reason next to the resource in lib/. A new
 * kind of exception has to be added here on purpose, where a reviewer sees it.
 */
const ACCEPTED_RULES = new Set([
  'AwsSolutions-S1',
  'AwsSolutions-SMG4',
  'AwsSolutions-APIG4',
  'AwsSolutions-IAM5[Resource::*]',
  // A function the lifecycle invokes answers its task tokens: the state machine's ARN by pattern.
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:IncidentWorkflowStateMachineAA5365A0-*]',
]);

interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

/** Acknowledgements recorded on `root` and below; CDK stores them as `{ "<kind>::<id>": reason }`. */
function acknowledgementsUnder(root: IConstruct): { path: string; ack: Acknowledgement }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([key, reason]) => ({ path: c.node.path, ack: { id: key.slice(key.indexOf('::') + 2), reason } })),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it('report nothing unacknowledged for the whole app', () => {
    const { app } = buildCasebookApp();
    addCasebookChecks(app);
    expect(() => app.synth()).not.toThrow();
  });

  it('are live in this setup: an unencrypted-in-transit bucket fails synth', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Control');
    new Bucket(stack, 'Careless');
    addCasebookChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });

  it('acknowledge only accepted rules, each with a written reason', () => {
    const { app, stateful, stateless } = buildCasebookApp();
    // Some acknowledgements are recorded during synth, once cross-stack references exist.
    app.synth();
    // The ingest function puts alert payloads into <payload bucket>/*: one bucket, put only; the
    // anchoring function puts and gets anchors under <anchor bucket>/signed-anchors/*, and gets the
    // older digests under anchors/*; the export function puts ledger exports under
    // <exports bucket>/ledger/v1/*.
    const accepted = new Set([
      ...ACCEPTED_RULES,
      // Finance's query policy gets the exported months and the rates, and keeps Athena's results…
      ...['ledger/v1/', 'labour-rates/v1/'].map((p) =>
        sameStackObjectsFinding(stateful, stateful.exportBucket, p),
      ),
      sameStackObjectsFinding(stateful, stateful.queryResultsBucket, 'results/'),
      // …and reads the months' closes, so that `casebook pnl` reports a closed month from its close.
      sameStackObjectsFinding(stateful, stateful.anchorBucket, CLOSE_PREFIX),
      bucketObjectsFinding(stateless, stateful.payloadBucket),
      bucketObjectsFinding(stateless, stateful.anchorBucket, 'signed-anchors/'),
      bucketObjectsFinding(stateless, stateful.anchorBucket, 'anchors/'),
      // The close function puts each month's close under <anchor bucket>/closes/*.
      bucketObjectsFinding(stateless, stateful.anchorBucket, CLOSE_PREFIX),
      bucketObjectsFinding(stateless, stateful.exportBucket, LEDGER_EXPORT_PREFIX),
      // The functions that start the lifecycle describe its executions, named by incident.
      executionsFinding(stateless, stateless.stateMachine),
    ]);
    const acknowledgements = acknowledgementsUnder(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    expect(acknowledgements.map((a) => a.ack.id)).toContain(
      bucketObjectsFinding(stateless, stateful.payloadBucket),
    );
    for (const { path, ack } of acknowledgements) {
      expect(accepted.has(ack.id), `${path} acknowledges ${ack.id}`).toBe(true);
      expect(ack.reason.length, `${path}: ${ack.id} needs a reason`).toBeGreaterThanOrEqual(60);
    }
  });

  it('never acknowledges the ledger or the workflow logs', () => {
    const { stateful, stateless } = buildCasebookApp();
    const ledger = stateful.node.findChild('LedgerTable');
    expect(acknowledgementsUnder(ledger)).toEqual([]);
    expect(
      acknowledgementsUnder(stateless).filter(({ ack }) => ack.id.startsWith('AwsSolutions-SF')),
    ).toEqual([]);
  });
});
