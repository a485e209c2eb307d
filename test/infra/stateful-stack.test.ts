import { App, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LEDGER_TABLE, OPERATIONS_TABLE, type TableSchema } from '../../functions/adapters/tables.ts';
import { MUTATING_ACTIONS } from '../../lib/constructs/table-access.ts';
import { CasebookStatefulStack } from '../../lib/stateful-stack.ts';
import { synthCasebookApp } from './casebook-app.ts';

const { stateful, statefulTemplate: template } = synthCasebookApp();

/** The bucket resource behind one of the stack's bucket properties. */
function bucketResource(bucket: typeof stateful.exportBucket) {
  const ref = stateful.resolve(bucket.bucketName) as { Ref: string };
  return template.toJSON().Resources[ref.Ref] as {
    Properties: Record<string, unknown>;
    DeletionPolicy: string;
    UpdateReplacePolicy: string;
  };
}

const PRIVATE_ENCRYPTED = {
  PublicAccessBlockConfiguration: {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  },
  BucketEncryption: {
    ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
  },
};

const keySchema = (schema: Pick<TableSchema, 'partitionKey' | 'sortKey'>) => [
  { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
  { AttributeName: schema.sortKey.name, KeyType: 'RANGE' },
];

/** The table resource whose primary key is `schema`'s. */
function tableWithSchema(schema: TableSchema) {
  const found = Object.values(
    template.findResources('AWS::DynamoDB::Table', { Properties: { KeySchema: keySchema(schema) } }),
  );
  expect(found).toHaveLength(1);
  return found[0] as {
    Properties: Record<string, unknown>;
    DeletionPolicy: string;
    UpdateReplacePolicy: string;
  };
}

describe('the stateful stack', () => {
  it('holds exactly the two tables', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  for (const [name, schema] of [
    ['ledger', LEDGER_TABLE],
    ['operations', OPERATIONS_TABLE],
  ] as const) {
    describe(`the ${name} table`, () => {
      it('has the key schema of functions/adapters/tables.ts, GSIs included', () => {
        const table = tableWithSchema(schema);
        const keys = [
          schema.partitionKey,
          schema.sortKey,
          ...schema.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
        ];
        const expectedAttributes = [...new Map(keys.map((k) => [k.name, k.type])).entries()].map(
          ([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }),
        );
        expect(table.Properties.AttributeDefinitions).toEqual(expect.arrayContaining(expectedAttributes));
        expect(table.Properties.AttributeDefinitions).toHaveLength(expectedAttributes.length);

        const indexes = (table.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string }[];
        expect(indexes.map((i) => i.IndexName).sort()).toEqual(
          schema.globalSecondaryIndexes.map((i) => i.indexName).sort(),
        );
        for (const index of schema.globalSecondaryIndexes) {
          expect(indexes).toContainEqual(
            expect.objectContaining({ IndexName: index.indexName, KeySchema: keySchema(index) }),
          );
        }
      });

      it('is on-demand, point-in-time recoverable, deletion-protected and retained', () => {
        template.hasResource('AWS::DynamoDB::Table', {
          Properties: Match.objectLike({
            KeySchema: keySchema(schema),
            BillingMode: 'PAY_PER_REQUEST',
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
        });
      });

      it('has no physical name', () => {
        expect(tableWithSchema(schema).Properties.TableName).toBeUndefined();
      });
    });
  }

  it('denies every mutation of ledger entries to every principal in the ledger table policy', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: keySchema(LEDGER_TABLE),
      ResourcePolicy: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: Match.arrayWith([...MUTATING_ACTIONS].sort()),
              Resource: '*',
            }),
          ]),
        },
      },
    });
  });

  it('leaves the operations table without a deny policy: incidents and approvals are updated in place', () => {
    expect(tableWithSchema(OPERATIONS_TABLE).Properties.ResourcePolicy).toBeUndefined();
  });

  it("holds exactly four buckets: ledger exports, the alert payload archive, the anchors and Athena's results", () => {
    template.resourceCountIs('AWS::S3::Bucket', 4);
    const ids = [
      stateful.exportBucket,
      stateful.payloadBucket,
      stateful.anchorBucket,
      stateful.queryResultsBucket,
    ].map((b) => bucketResource(b));
    expect(new Set(ids).size).toBe(4);
  });

  it('keeps ledger exports and anchors in private, versioned, encrypted, TLS-only, retained buckets', () => {
    for (const bucket of [stateful.exportBucket, stateful.anchorBucket])
      expect(bucketResource(bucket)).toMatchObject({
        Properties: { ...PRIVATE_ENCRYPTED, VersioningConfiguration: { Status: 'Enabled' } },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    expect(bucketResource(stateful.exportBucket)).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(bucketResource(stateful.exportBucket).Properties.BucketName).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('locks every anchor with Object Lock in COMPLIANCE mode unless the deployer asks for GOVERNANCE, which synth warns about', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
      },
    });
    const warnings = (stack: Stack) =>
      Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('GOVERNANCE'));
    expect(warnings(stateful)).toEqual([]);
    // Without the setting at all, production's mode still.
    const unset = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Template.fromStack(new CasebookStatefulStack(unset, 'Unset')).hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });

    const governance = synthCasebookApp({ 'casebook:anchorRetention': { mode: 'GOVERNANCE', days: 30 } });
    governance.statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } },
      },
    });
    const [warning] = warnings(governance.stateful);
    expect(warning?.id).toBe('/CasebookStateful/AnchorBucket');
    expect(String(warning?.entry.data)).toMatch(
      /GOVERNANCE mode \(30 days\): anyone allowed s3:BypassGovernanceRetention can delete or overwrite an anchor.*Use COMPLIANCE in production/,
    );
    // The same through the stack's own property.
    const byProp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const dev = new CasebookStatefulStack(byProp, 'Dev', {
      anchorRetention: { mode: 'GOVERNANCE', days: 7 },
    });
    expect(warnings(dev)).toHaveLength(1);

    expect(() => synthCasebookApp({ 'casebook:anchorRetention': { mode: 'FOREVER', days: 1 } })).toThrow(
      /casebook:anchorRetention must be/,
    );
  });

  it('keeps whole alert payloads in a private, encrypted, TLS-only, retained bucket without versions, so one can be erased', () => {
    const payloads = bucketResource(stateful.payloadBucket);
    expect(payloads).toMatchObject({
      Properties: PRIVATE_ENCRYPTED,
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(payloads.Properties.VersioningConfiguration).toBeUndefined();
    expect(payloads.Properties.BucketName).toBeUndefined();
    const ref = stateful.resolve(stateful.payloadBucket.bucketName);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref,
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('generates its secrets (webhook token, the three sources’ signing secrets, pseudonym key, Stripe key placeholder) in Secrets Manager and keeps them', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 6);
    template.allResources('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }),
        Name: Match.absent(),
        SecretString: Match.absent(),
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('holds the ledger seal key: an HMAC key that can only MAC, retained', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('the ledger signing key', () => {
  it('is an asymmetric P-256 signing key, kept when the stack goes', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('is an output, with the command that prints its public key', () => {
    const arn = stateful.resolve(stateful.ledgerSigningKey.keyArn);
    template.hasOutput('LedgerSigningKeyArn', { Value: arn });
    template.hasOutput('LedgerPublicKeyCommand', {
      Value: { 'Fn::Join': ['', ['npx casebook ledger public-key --signing-kms-key-id ', arn]] },
    });
  });
});
