import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SIGNING_SECRET_ENV } from '../../functions/adapters/config.ts';
import { OPERATIONS_TABLE } from '../../functions/adapters/tables.ts';
import {
  FUNCTIONS,
  type FunctionKey,
  type FunctionNeeds,
  type FunctionSpec,
} from '../../functions/catalog.ts';
import { ENV } from '../../functions/env-names.ts';
import type { IncidentWorkflow } from '../../lib/constructs/incident-workflow.ts';
import {
  APPEND_ACTIONS,
  MUTATING_ACTIONS,
  READ_ACTIONS,
  WRITE_ACTIONS,
} from '../../lib/constructs/table-access.ts';
import { CDK_JSON_CONTEXT, synthCasebookApp } from './casebook-app.ts';
import { actionMatches, actionsOf, allStatements, mentions, type Statement, statementsOf } from './iam.ts';

const { stateful, stateless, statelessTemplate: template } = synthCasebookApp();
const specs = Object.entries(FUNCTIONS) as [FunctionKey, FunctionSpec][];
const mailFrom = CDK_JSON_CONTEXT['casebook:mailFrom'] as string;
const approvers = CDK_JSON_CONTEXT['casebook:approvers'] as Record<'legal' | 'business' | 'sre', string>;

const ledgerArn = stateless.resolve(stateful.ledgerTable.tableArn);
const operationsArn = stateless.resolve(stateful.operationsTable.tableArn);

/** The function resource deployed for a catalog entry. */
function functionResource(key: FunctionKey) {
  const logicalId = (
    stateless.resolve(stateless.functions[key].functionArn) as { 'Fn::GetAtt': [string, string] }
  )['Fn::GetAtt'][0];
  return template.toJSON().Resources[logicalId] as {
    Properties: { Environment: { Variables: Record<string, unknown> } } & Record<string, unknown>;
  };
}

const statementsFor = (key: FunctionKey) => statementsOf(template, stateless, stateless.functions[key].role);
const allows = (statements: Statement[], action: string, resource?: unknown) =>
  statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      actionsOf(s).some((pattern) => actionMatches(pattern, action)) &&
      (resource === undefined || mentions(s, resource)),
  );
/** Keys of the catalog functions whose needs satisfy `predicate`. */
const keysWhere = (predicate: (needs: FunctionNeeds) => unknown) =>
  specs.filter(([, spec]) => predicate(spec.needs)).map(([key]) => key);

describe('every catalog function', () => {
  it('is deployed once', () => {
    template.resourceCountIs('AWS::Lambda::Function', specs.length);
  });

  it.each(specs)('%s runs on nodejs24.x, arm64, JSON logs, X-Ray, with the catalog timeout', (key, spec) => {
    expect(functionResource(key).Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: spec.timeoutSeconds,
      Description: spec.description,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON' },
    });
    expect(functionResource(key).Properties.FunctionName).toBeUndefined();
  });

  it('runs on nodejs24.x and arm64, with no exception', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
  });

  it.each(specs)('%s gets exactly the environment its needs call for', (key, spec) => {
    const variables = functionResource(key).Properties.Environment.Variables;
    const { needs } = spec;
    expect(variables[ENV.operationsTable]).toEqual(stateless.resolve(stateful.operationsTable.tableName));
    expect(variables[ENV.ledgerTable]).toEqual(
      needs.ledger ? stateless.resolve(stateful.ledgerTable.tableName) : undefined,
    );
    expect(variables[ENV.ledgerKmsKeyId]).toEqual(
      needs.ledger ? stateless.resolve(stateful.ledgerSealKey.keyArn) : undefined,
    );
    expect(variables[ENV.ledgerSigningKmsKeyId]).toEqual(
      needs.ledger ? stateless.resolve(stateful.ledgerSigningKey.keyArn) : undefined,
    );
    // The local key files never reach AWS.
    expect(variables[ENV.ledgerKeyFile]).toBeUndefined();
    expect(variables[ENV.ledgerSigningKeyFile]).toBeUndefined();
    expect(variables[ENV.stateMachineArn]).toEqual(
      needs.startExecution ? stateless.resolve(stateless.stateMachine.stateMachineArn) : undefined,
    );
    expect(variables[ENV.alertmanagerTokenSecretArn]).toEqual(
      needs.webhookSecret ? stateless.resolve(stateful.alertmanagerTokenSecret.secretArn) : undefined,
    );
    for (const [source, { value, arn }] of Object.entries(SIGNING_SECRET_ENV)) {
      const secret = stateful.webhookSigningSecrets[source as keyof typeof SIGNING_SECRET_ENV];
      expect(variables[arn], arn).toEqual(
        needs.webhookSecret ? stateless.resolve(secret.secretArn) : undefined,
      );
      expect(variables[value], value).toBeUndefined();
    }
    expect(variables[ENV.mailFrom]).toEqual(needs.sendEmail ? mailFrom : undefined);
    expect(variables[ENV.payloadBucket]).toEqual(
      needs.payloadArchive ? stateless.resolve(stateful.payloadBucket.bucketName) : undefined,
    );
    expect(variables[ENV.publicBaseUrl]).toEqual(
      needs.publicBaseUrl ? stateless.resolve(stateless.apiUrl) : undefined,
    );
    expect([
      variables[ENV.approverLegal],
      variables[ENV.approverBusiness],
      variables[ENV.approverSre],
    ]).toEqual(
      needs.approvalPolicy
        ? [approvers.legal, approvers.business, approvers.sre]
        : [undefined, undefined, undefined],
    );
    // The bearer token itself is only ever an environment variable locally.
    expect(variables[ENV.alertmanagerToken]).toBeUndefined();
  });
});

describe('the ledger stays append-only in IAM', () => {
  it('no policy in the stack allows any mutating call on the ledger', () => {
    const offending = allStatements(template).filter(
      (s) =>
        s.Effect === 'Allow' &&
        mentions(s, ledgerArn) &&
        MUTATING_ACTIONS.some((action) => actionsOf(s).some((pattern) => actionMatches(pattern, action))),
    );
    expect(offending).toEqual([]);
  });

  it.each(specs.filter(([, spec]) => spec.needs.ledger === 'APPEND'))(
    '%s may only put, get, query and describe, and is explicitly denied every mutation',
    (key) => {
      const statements = statementsFor(key);
      const allowed = statements
        .filter((s) => s.Effect === 'Allow' && mentions(s, ledgerArn))
        .flatMap(actionsOf);
      expect(new Set(allowed)).toEqual(new Set(APPEND_ACTIONS));
      expect(allowed).not.toContain('dynamodb:UpdateItem');
      expect(allowed).not.toContain('dynamodb:DeleteItem');

      const denied = statements
        .filter((s) => s.Effect === 'Deny' && mentions(s, ledgerArn))
        .flatMap(actionsOf);
      expect(denied).toEqual(expect.arrayContaining([...MUTATING_ACTIONS]));
    },
  );

  it.each(specs.filter(([, spec]) => spec.needs.ledger === 'RO'))('%s may only read the ledger', (key) => {
    const allowed = statementsFor(key)
      .filter((s) => s.Effect === 'Allow' && mentions(s, ledgerArn))
      .flatMap(actionsOf);
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.every((action) => (READ_ACTIONS as readonly string[]).includes(action))).toBe(true);
  });

  it.each(specs.filter(([, spec]) => !spec.needs.ledger))('%s has no access to the ledger at all', (key) => {
    expect(statementsFor(key).filter((s) => s.Effect === 'Allow' && mentions(s, ledgerArn))).toEqual([]);
  });
});

describe('the operations table', () => {
  it.each(specs.filter(([, spec]) => spec.needs.ledger === 'APPEND' && spec.needs.operations !== 'RW'))(
    '%s may put change marks (CHANGED#… partitions) and nothing else there',
    (key) => {
      const puts = statementsFor(key).filter(
        (s) =>
          s.Effect === 'Allow' && mentions(s, operationsArn) && actionsOf(s).includes('dynamodb:PutItem'),
      );
      expect(puts).toEqual([
        expect.objectContaining({
          Action: 'dynamodb:PutItem',
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CHANGED#*'] } },
        }),
      ]);
    },
  );

  it.each(specs)(
    '%s gets read or read-write access as its needs say, and Query on named indexes only',
    (key, spec) => {
      const statements = statementsFor(key);
      expect(allows(statements, 'dynamodb:Query', operationsArn)).toBe(true);
      expect(allows(statements, 'dynamodb:UpdateItem', operationsArn)).toBe(spec.needs.operations === 'RW');
      const unconditional = statements.filter((s) => !s.Condition);
      expect(allows(unconditional, 'dynamodb:PutItem', operationsArn)).toBe(spec.needs.operations === 'RW');
      for (const index of OPERATIONS_TABLE.globalSecondaryIndexes) {
        expect(
          statements.some(
            (s) =>
              s.Effect === 'Allow' &&
              actionsOf(s).includes('dynamodb:Query') &&
              JSON.stringify(s.Resource).includes(`/index/${index.indexName}`),
          ),
        ).toBe(true);
      }
    },
  );

  it('no grant anywhere uses a wildcard index ARN or dynamodb:*', () => {
    for (const statement of allStatements(template)) {
      expect(JSON.stringify(statement.Resource)).not.toContain('/index/*');
      expect(
        actionsOf(statement).filter((a) => a.toLowerCase().startsWith('dynamodb:') && a.includes('*')),
      ).toEqual([]);
    }
  });

  it('the write set is what RW means', () => {
    const rw = specs.find(([, spec]) => spec.needs.operations === 'RW');
    expect(rw).toBeDefined();
    const allowed = statementsFor((rw as [FunctionKey, FunctionSpec])[0])
      .filter((s) => s.Effect === 'Allow' && mentions(s, operationsArn))
      .flatMap(actionsOf);
    expect(allowed).toEqual(expect.arrayContaining([...READ_ACTIONS, ...WRITE_ACTIONS]));
  });
});

describe('state machine permissions', () => {
  const smArn = stateless.resolve(stateless.stateMachine.stateMachineArn);

  it('only functions that need startExecution may start the lifecycle', () => {
    const starters = specs
      .filter(([key]) => allows(statementsFor(key), 'states:StartExecution', smArn))
      .map(([k]) => k);
    expect(starters).toEqual(keysWhere((n) => n.startExecution));
    expect(starters).toEqual(['ingestAlert', 'declareIncident']);
    // Nothing else in the stack (the state machine's own role included) can start it either.
    expect(allStatements(template).filter((s) => allows([s], 'states:StartExecution')).length).toBe(
      starters.length,
    );
  });

  it("only the functions that start the lifecycle may describe its executions, this machine's only", () => {
    const describers = specs
      .filter(([key]) => statementsFor(key).some((s) => actionsOf(s).includes('states:DescribeExecution')))
      .map(([k]) => k);
    expect(describers).toEqual(['ingestAlert', 'declareIncident']);
    for (const key of describers) {
      const statement = statementsFor(key).find((s) => actionsOf(s).includes('states:DescribeExecution'));
      expect(actionsOf(statement as Statement)).toEqual(['states:DescribeExecution']);
      expect(JSON.stringify(statement?.Resource)).toMatch(/:execution:/);
      expect(JSON.stringify(statement?.Resource)).toContain(JSON.stringify(smArn));
    }
  });

  it('only functions that need taskResponse may complete waiting tasks, on this state machine only', () => {
    // A function the state machine invokes names it by pattern (its logical ID and a suffix).
    const pattern = JSON.stringify(
      stateless.resolve((stateless.node.findChild('IncidentWorkflow') as IncidentWorkflow).arnPattern),
    );
    const onThisMachine = (statements: Statement[], action: string) =>
      allows(statements, action, smArn) ||
      statements.some(
        (s) =>
          s.Effect === 'Allow' && actionsOf(s).includes(action) && JSON.stringify(s.Resource) === pattern,
      );
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']) {
      const responders = specs.filter(([key]) => onThisMachine(statementsFor(key), action)).map(([k]) => k);
      expect(responders).toEqual(keysWhere((n) => n.taskResponse));
      expect(responders).toEqual(['approvalsPage', 'holdForPeople', 'workroom', 'effectQuestionsPage']);
    }
    expect(pattern).toContain('stateMachine:IncidentWorkflowStateMachine');
  });
});

describe('other grants', () => {
  it('only functions that need sendEmail may send, and only from the mail-from address or its domain', () => {
    const senders = specs.filter(([key]) => allows(statementsFor(key), 'ses:SendEmail')).map(([k]) => k);
    expect(senders).toEqual(keysWhere((n) => n.sendEmail));
    for (const key of senders) {
      const ses = statementsFor(key).filter((s) => actionsOf(s).includes('ses:SendEmail'));
      expect(ses).toHaveLength(1);
      const [statement] = ses as [Statement];
      const domain = mailFrom.split('@')[1];
      const resources = JSON.stringify(statement.Resource);
      expect(resources).toContain(`:identity/${mailFrom}`);
      expect(resources).toContain(`:identity/${domain}"`);
      expect(resources).not.toContain('identity/*');
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': mailFrom } });
    }
  });

  it('only the functions that need a secret may read it, each only its own', () => {
    const readers = (secret: { secretArn: string }) =>
      specs
        .filter(([key]) =>
          allows(statementsFor(key), 'secretsmanager:GetSecretValue', stateless.resolve(secret.secretArn)),
        )
        .map(([k]) => k);
    expect(readers(stateful.alertmanagerTokenSecret)).toEqual(keysWhere((n) => n.webhookSecret));
    for (const secret of Object.values(stateful.webhookSigningSecrets)) {
      expect(readers(secret)).toEqual(keysWhere((n) => n.webhookSecret));
    }
    expect(readers(stateful.pseudonymKeySecret)).toEqual(keysWhere((n) => n.pseudonyms));
    // The payments provider in cdk.json is manual: nothing reads Stripe's key.
    expect(readers(stateful.stripeApiKeySecret)).toEqual([]);
  });

  it('only the functions that anchor and close may write to the anchor bucket, each under its own prefix, and neither can delete', () => {
    const bucketArn = stateless.resolve(stateful.anchorBucket.bucketArn);
    const writers = specs
      .filter(([key]) => allows(statementsFor(key), 's3:PutObject', bucketArn))
      .map(([k]) => k);
    expect(writers).toEqual(keysWhere((n) => n.anchors || n.closes));
    expect(writers.sort()).toEqual(['anchorLedger', 'closePeriod']);
    for (const key of writers) {
      expect(allows(statementsFor(key), 's3:DeleteObject')).toBe(false);
      expect(allows(statementsFor(key), 's3:DeleteObjectVersion')).toBe(false);
    }
    const puts = (key: FunctionKey) =>
      statementsFor(key)
        .filter((s) => actionsOf(s).includes('s3:PutObject') && mentions(s, bucketArn))
        .map((s) => JSON.stringify(s.Resource));
    // Only the close function may put a close; it may put nothing else there, nor read or list.
    expect(puts('closePeriod')).toHaveLength(1);
    expect(puts('closePeriod')[0]).toContain('/closes/*');
    expect(puts('anchorLedger').length).toBeGreaterThan(0);
    for (const resource of puts('anchorLedger')) expect(resource).toContain('/signed-anchors/*');
    const close = statementsFor('closePeriod').filter((s) => mentions(s, bucketArn));
    expect(close.flatMap(actionsOf)).toEqual(['s3:PutObject']);
  });

  it('the close function claims closes in the operational table, reads the ledger, and runs daily', () => {
    expect(FUNCTIONS.closePeriod.needs).toEqual({ operations: 'RW', ledger: 'RO', closes: true });
    expect(allows(statementsFor('closePeriod'), 'dynamodb:PutItem', operationsArn)).toBe(true);
    expect(allows(statementsFor('closePeriod'), 'dynamodb:PutItem', ledgerArn)).toBe(false);
    expect(allows(statementsFor('closePeriod'), 'dynamodb:Query', ledgerArn)).toBe(true);
    // The CLI invokes it by this name on AWS.
    template.hasOutput('CloseFunctionName', {
      Value: stateless.resolve(stateless.functions.closePeriod.functionName),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      Targets: Match.arrayWith([
        Match.objectLike({
          Arn: stateless.resolve(stateless.functions.closePeriod.functionArn),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
        }),
      ]),
    });
  });

  it('only functions that need the payload archive may put into it, and none may read, list or delete', () => {
    const bucketArn = stateless.resolve(stateful.payloadBucket.bucketArn);
    const writers = specs
      .filter(([key]) => allows(statementsFor(key), 's3:PutObject', bucketArn))
      .map(([k]) => k);
    expect(writers).toEqual(keysWhere((n) => n.payloadArchive));
    expect(writers).toEqual(['ingestAlert']);
    for (const [key] of specs) {
      for (const action of ['s3:GetObject', 's3:ListBucket', 's3:DeleteObject']) {
        expect(allows(statementsFor(key), action, bucketArn), `${key} ${action}`).toBe(false);
      }
    }
  });

  it('only the export function may write to the exports bucket, under ledger/v1/ only, and it can neither read nor delete', () => {
    const bucketArn = stateless.resolve(stateful.exportBucket.bucketArn);
    const writers = specs
      .filter(([key]) => allows(statementsFor(key), 's3:PutObject', bucketArn))
      .map(([k]) => k);
    expect(writers).toEqual(keysWhere((n) => n.exports));
    expect(writers).toEqual(['exportLedger']);
    const grant = statementsFor('exportLedger').find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(grant && actionsOf(grant).sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
    expect(JSON.stringify(grant?.Resource)).toContain('/ledger/v1/*');
    for (const [key] of specs) {
      for (const action of ['s3:GetObject', 's3:ListBucket', 's3:DeleteObject', 's3:DeleteObjectVersion']) {
        expect(allows(statementsFor(key), action, bucketArn), `${key} ${action}`).toBe(false);
      }
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 1 * * ? *)',
      Targets: Match.arrayWith([
        Match.objectLike({ Arn: stateless.resolve(stateless.functions.exportLedger.functionArn) }),
      ]),
    });
  });

  it('uses Resource "*" for X-Ray and log delivery only', () => {
    const wildcard = allStatements(template).filter((s) => s.Effect === 'Allow' && s.Resource === '*');
    expect(wildcard.length).toBeGreaterThan(0);
    for (const statement of wildcard) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^(xray|logs):/);
    }
  });

  it('functions do not carry AWSLambdaBasicExecutionRole (logs:* on *); each writes only its own log group', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    for (const [key] of specs) {
      const { LogGroup } = functionResource(key).Properties.LoggingConfig as { LogGroup: { Ref: string } };
      const writes = statementsFor(key).filter((s) => actionsOf(s).includes('logs:PutLogEvents'));
      expect(writes).toEqual([
        expect.objectContaining({ Effect: 'Allow', Resource: { 'Fn::GetAtt': [LogGroup.Ref, 'Arn'] } }),
      ]);
    }
  });
});

describe('the ledger seal key', () => {
  const keyArn = stateless.resolve(stateful.ledgerSealKey.keyArn);
  const kmsActions = (key: FunctionKey) =>
    statementsFor(key)
      .filter((s) => s.Effect === 'Allow' && mentions(s, keyArn))
      .flatMap((s) => [s.Action].flat());

  const seals = (spec: FunctionSpec) => spec.needs.ledger === 'APPEND' || Boolean(spec.needs.anchors);
  it.each(specs.filter(([, spec]) => seals(spec)))('%s may seal with it, and nothing else', (key) => {
    expect(kmsActions(key)).toEqual(['kms:GenerateMac']);
  });

  it.each(specs.filter(([, spec]) => !seals(spec)))('%s may not use it at all', (key) => {
    expect(kmsActions(key)).toEqual([]);
  });
});

describe('the ledger signing key', () => {
  const keyArn = stateless.resolve(stateful.ledgerSigningKey.keyArn);
  const kmsActions = (key: FunctionKey) =>
    statementsFor(key)
      .filter((s) => s.Effect === 'Allow' && mentions(s, keyArn))
      .flatMap(actionsOf)
      .sort();
  const appends = (spec: FunctionSpec) =>
    spec.needs.ledger === 'APPEND' || Boolean(spec.needs.anchors) || Boolean(spec.needs.closes);

  it.each(specs.filter(([, spec]) => appends(spec)))(
    '%s appends or closes: it may sign heads (or closes) and read the public key, nothing else',
    (key) => {
      expect(kmsActions(key)).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    },
  );

  it.each(specs.filter(([, spec]) => spec.needs.ledger && !appends(spec)))(
    '%s reads the ledger: it may read the public key and never sign',
    (key) => {
      expect(kmsActions(key)).toEqual(['kms:GetPublicKey']);
    },
  );

  it.each(specs.filter(([, spec]) => !spec.needs.ledger))('%s may not use it at all', (key) => {
    expect(kmsActions(key)).toEqual([]);
  });

  it("is granted kms:Sign by no statement but the appenders' own", () => {
    const signers = specs
      .filter(([key]) => allows(statementsFor(key), 'kms:Sign', keyArn))
      .map(([key]) => key)
      .sort();
    expect(signers).toEqual(
      keysWhere((needs) => needs.ledger === 'APPEND' || needs.anchors || needs.closes).sort(),
    );
    expect(signers).toContain('closePeriod');
    expect(signers).not.toContain('incidentsApi');
    const everySigner = allStatements(template).filter(
      (s) => s.Effect === 'Allow' && mentions(s, keyArn) && allows([s], 'kms:Sign'),
    );
    expect(everySigner).toHaveLength(signers.length);
  });
});
