import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { LABOUR_RATES_KEY } from '../../functions/domain/labour-rates-object.ts';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { Finance, LEDGER_V1_COLUMNS, LEDGER_V1_PREFIX } from '../../lib/constructs/finance.ts';
import { synthCasebookApp } from './casebook-app.ts';
import { statementsOf } from './iam.ts';

const { stateful, statefulTemplate: template } = synthCasebookApp();

type Resource = { Type: string; Properties: Record<string, unknown> };
interface TableInput {
  readonly Name: string;
  readonly Parameters: Record<string, unknown>;
  readonly PartitionKeys: unknown[];
  readonly StorageDescriptor: { readonly Columns: { Name: string; Type: string }[] };
}
interface Statement {
  readonly Sid: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
interface WorkGroupConfiguration {
  readonly EnforceWorkGroupConfiguration: boolean;
  readonly EngineVersion: unknown;
  readonly ResultConfiguration: { readonly EncryptionConfiguration: unknown };
  readonly BytesScannedCutoffPerQuery: number;
}
const resources = template.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

/** `s3://<bucket ref>/<prefix>` as the template spells it. */
const s3Location = (bucket: typeof stateful.exportBucket, prefix: string) => ({
  'Fn::Join': ['', ['s3://', stateful.resolve(bucket.bucketName), `/${prefix}`]],
});

describe('finance on AWS', () => {
  it('has one Glue database, named for people, in the stack account', () => {
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: Match.objectLike({ Name: 'casebook' }),
    });
  });

  describe('the ledger table', () => {
    const tables = ofType('AWS::Glue::Table')
      .map((t) => t.Properties.TableInput as TableInput)
      .filter((t) => t.Name === 'ledger');
    const input = tables[0] as TableInput;

    it('is one external Parquet table over ledger/v1/ of the exports bucket', () => {
      expect(tables).toHaveLength(1);
      expect(input).toMatchObject({
        TableType: 'EXTERNAL_TABLE',
        Parameters: { classification: 'parquet', 'casebook.schema': 'ledger/v1' },
        StorageDescriptor: {
          Location: s3Location(stateful.exportBucket, 'ledger/v1/'),
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      });
    });

    it('projects period (yyyy-MM, one month apart, up to now) onto period=YYYY-MM/ keys', () => {
      expect(input.PartitionKeys).toEqual([{ Name: 'period', Type: 'string', Comment: expect.any(String) }]);
      expect(input.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.period.type': 'date',
        'projection.period.format': 'yyyy-MM',
        'projection.period.range': '2020-01,NOW',
        'projection.period.interval': '1',
        'projection.period.interval.unit': 'MONTHS',
      });
      const template = input.Parameters['storage.location.template'];
      expect(template).toEqual({
        'Fn::Join': [
          '',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder, verbatim
          ['s3://', stateful.resolve(stateful.exportBucket.bucketName), '/ledger/v1/period=${period}/'],
        ],
      });
    });

    it("projects exactly the keys the export writes a period's object under", () => {
      const location = input.Parameters['storage.location.template'] as { 'Fn::Join': [string, unknown[]] };
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder, verbatim
      const placeholder = '${period}';
      const template = String(location['Fn::Join'][1].at(-1)).slice(1);
      expect(template).toBe(`${LEDGER_V1_PREFIX}period=${placeholder}/`);
      for (const period of ['2020-01', '2026-11', '2031-12'])
        expect(ledgerObjectKey(period)).toBe(`${template.replace(placeholder, period)}ledger.parquet`);
    });

    it('has the columns of ledger/v1 in order, typed as Athena reads the Parquet types', () => {
      const columns = input.StorageDescriptor.Columns;
      expect(columns.map((c) => c.Name)).toEqual([
        'incident_id',
        'incident_number',
        'incident_title',
        'seq',
        'entry_id',
        'entry_hash',
        'kind',
        'root_kind',
        'corrects_id',
        'state',
        'amount_minor',
        'currency',
        'fee_minor',
        'fee_currency',
        'obligation',
        'product_area',
        'gl_code',
        'world',
        'phase',
        'at',
        'effective_at',
        'counterparty',
        'effect_id',
        'provider_ref',
        'labour_role',
        'labour_minutes',
      ]);
      const typeOf = Object.fromEntries(columns.map((c) => [c.Name, c.Type]));
      for (const money of ['amount_minor', 'fee_minor', 'incident_number', 'seq', 'labour_minutes'])
        expect(typeOf[money], money).toBe('bigint');
      for (const time of ['at', 'effective_at']) expect(typeOf[time], time).toBe('timestamp');
      expect(
        columns.filter((c) => !['bigint', 'timestamp'].includes(c.Type)).every((c) => c.Type === 'string'),
      ).toBe(true);
      // period is the key's, never a column of the file
      expect(columns.map((c) => c.Name)).not.toContain('period');
      expect(columns).toHaveLength(LEDGER_V1_COLUMNS.length);
    });
  });

  describe('the Athena workgroup', () => {
    const workGroups = ofType('AWS::Athena::WorkGroup');
    const configuration = workGroups[0]?.Properties.WorkGroupConfiguration as WorkGroupConfiguration;

    it('is the only one, on engine 3', () => {
      expect(workGroups).toHaveLength(1);
      expect(workGroups[0]?.Properties).toMatchObject({ Name: 'casebook-finance', State: 'ENABLED' });
      expect(configuration.EngineVersion).toEqual({ SelectedEngineVersion: 'Athena engine version 3' });
    });

    // What cdk-nag's AwsSolutions-ATH1 asks (its rule AthenaWorkgroupEncryptedQueryResults): the
    // configuration is enforced and its results are encrypted. The cdk-nag installed here has no
    // Athena rules, so the nag test alone would pass without either.
    it('encrypts every result and lets no client choose otherwise (AwsSolutions-ATH1)', () => {
      expect(configuration.EnforceWorkGroupConfiguration).toBe(true);
      expect(configuration.ResultConfiguration.EncryptionConfiguration).toEqual({
        EncryptionOption: 'SSE_S3',
      });
    });

    it("writes results to its own private, encrypted bucket, owned by the stack's account, kept 30 days", () => {
      expect(configuration.ResultConfiguration).toMatchObject({
        OutputLocation: s3Location(stateful.queryResultsBucket, 'results/'),
        ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
      });
      const ref = (stateful.resolve(stateful.queryResultsBucket.bucketName) as { Ref: string }).Ref;
      expect(resources[ref]?.Properties).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LifecycleConfiguration: {
          Rules: [expect.objectContaining({ ExpirationInDays: 30, Status: 'Enabled' })],
        },
      });
      expect(ref).not.toBe((stateful.resolve(stateful.exportBucket.bucketName) as { Ref: string }).Ref);
    });

    it('caps what one query may scan', () => {
      expect(configuration.BytesScannedCutoffPerQuery).toBe(10 * 1024 ** 3);
    });
  });

  describe("finance's query policy", () => {
    const policies = ofType('AWS::IAM::ManagedPolicy');
    const document = policies[0]?.Properties.PolicyDocument as { Statement: Statement[] } | undefined;
    const statements = document?.Statement ?? [];
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid) as Statement;
    const exportArn = stateful.resolve(stateful.exportBucket.bucketArn);
    const resultsArn = stateful.resolve(stateful.queryResultsBucket.bucketArn);
    const objects = (arn: unknown, prefix: string) => ({ 'Fn::Join': ['', [arn, `/${prefix}*`]] });
    const list = (value: unknown) => (Array.isArray(value) ? value : [value]);

    it('is one managed policy, in the outputs', () => {
      expect(policies).toHaveLength(1);
      template.hasOutput('FinanceQueryPolicyArn', {
        Value: { Ref: Match.stringLikeRegexp('^FinanceQueryPolicy') },
      });
    });

    it('runs queries in the finance workgroup only, so results always go where it encrypts them', () => {
      const athena = statements.filter((s) => list(s.Action).some((a) => a.startsWith('athena:')));
      expect(athena.map((s) => s.Sid)).toEqual(['QueryInTheFinanceWorkGroup']);
      expect(JSON.stringify(bySid('QueryInTheFinanceWorkGroup').Resource)).toMatch(
        /":workgroup\/",\{"Ref":"FinanceWorkGroup[0-9A-F]+"\}\]\]\}$/,
      );
      expect(list(bySid('QueryInTheFinanceWorkGroup').Action)).toContain('athena:StartQueryExecution');
    });

    it('reads the two tables of the finance database, and only reads', () => {
      const glue = bySid('ReadTheFinanceTables');
      expect(list(glue.Action).every((a) => /^glue:Get/.test(a))).toBe(true);
      const arns = list(glue.Resource).map((r) => JSON.stringify(r));
      expect(arns.map((a) => /:(catalog|database\/\w+|table\/\w+\/\w+)"/.exec(a)?.[1])).toEqual([
        'catalog',
        'database/casebook',
        'table/casebook/labour_rates',
        'table/casebook/ledger',
      ]);
    });

    it('gets exported months and the rates, lists only their prefixes, and writes nothing in the exports bucket', () => {
      expect(bySid('ReadTheExports')).toMatchObject({
        Action: 's3:GetObject',
        Resource: [objects(exportArn, 'labour-rates/v1/'), objects(exportArn, 'ledger/v1/')],
      });
      expect(bySid('ListTheExports')).toMatchObject({
        Action: 's3:ListBucket',
        Resource: exportArn,
        Condition: { StringLike: { 's3:prefix': ['ledger/v1/*', 'labour-rates/v1/*'] } },
      });
      const onExports = statements.filter((s) =>
        JSON.stringify(s.Resource).includes(JSON.stringify(exportArn)),
      );
      const actions = onExports.flatMap((s) => list(s.Action));
      expect(new Set(actions)).toEqual(new Set(['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation']));
    });

    it("reads and writes Athena's results under results/ of their own bucket", () => {
      expect(bySid('KeepTheResults')).toMatchObject({
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Resource: objects(resultsArn, 'results/'),
      });
      expect(bySid('LocateTheBuckets')).toMatchObject({
        Action: 's3:GetBucketLocation',
        Resource: [exportArn, resultsArn],
      });
    });

    it("reads the months' closes and the public key that checks them, and nothing else of the anchors", () => {
      const anchorArn = stateful.resolve(stateful.anchorBucket.bucketArn);
      expect(bySid('ReadTheCloses')).toMatchObject({
        Action: 's3:GetObject',
        Resource: objects(anchorArn, 'closes/'),
      });
      expect(bySid('ListTheCloses')).toMatchObject({
        Action: 's3:ListBucket',
        Resource: anchorArn,
        Condition: { StringLike: { 's3:prefix': ['closes/*'] } },
      });
      expect(bySid('CheckTheCloses')).toMatchObject({
        Action: 'kms:GetPublicKey',
        Resource: stateful.resolve(stateful.ledgerSigningKey.keyArn),
      });
      const onAnchors = statements.filter((s) =>
        JSON.stringify(s.Resource).includes(JSON.stringify(anchorArn)),
      );
      expect(onAnchors.map((s) => s.Sid)).toEqual(['ReadTheCloses', 'ListTheCloses']);
      const kms = statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => s.Sid)).toEqual(['CheckTheCloses']);
    });

    it('allows, never denies, and grants no wildcard action', () => {
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        for (const action of list(s.Action)) expect(action).not.toMatch(/\*/);
      }
    });
  });

  it("lets the export function put the configured labour rates at the rates table's one key, and nothing more there", () => {
    const configured = synthCasebookApp({
      'casebook:labourRates': { SRE: { amount: '120.00', currency: 'EUR' } },
    });
    const { stateless: stack, statelessTemplate } = configured;
    const exporter = stack.functions.exportLedger;
    const id = (stack.resolve(exporter.functionArn) as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const environment = (
      statelessTemplate.toJSON().Resources[id] as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }
    ).Properties.Environment.Variables;
    expect(JSON.parse(String(environment.CASEBOOK_LABOUR_RATES))).toEqual({
      SRE: { amount: '120.00', currency: 'EUR' },
    });
    const rateKey = {
      'Fn::Join': ['', [stack.resolve(configured.stateful.exportBucket.bucketArn), `/${LABOUR_RATES_KEY}`]],
    };
    const statements = statementsOf(statelessTemplate, stack, exporter.role);
    const onRates = statements.filter((s) => JSON.stringify(s.Resource).includes(LABOUR_RATES_KEY));
    expect(onRates).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 's3:PutObject', Resource: rateKey }),
    ]);
    // Without rates configured the function still writes the (empty) object: the rates are what is configured.
    const unconfigured = Object.keys(
      (
        synthCasebookApp().statelessTemplate.toJSON().Resources[id] as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }
      ).Properties.Environment.Variables,
    );
    expect(unconfigured).not.toContain('CASEBOOK_LABOUR_RATES');
  });

  it('names the database and workgroup as the deployer says, in the outputs', () => {
    const other = synthCasebookApp({
      'casebook:financeDatabase': 'casebook_staging',
      'casebook:financeWorkGroup': 'casebook-staging-finance',
    }).statefulTemplate;
    other.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'casebook_staging' } });
    other.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'casebook-staging-finance' });
    other.hasOutput('FinanceDatabaseName', { Value: 'casebook_staging' });
    other.hasOutput('FinanceWorkGroupName', { Value: { Ref: Match.stringLikeRegexp('^FinanceWorkGroup') } });
  });

  it('refuses bad names and periods, every problem in one error', () => {
    const stack = new Stack(new App(), 'Bad');
    const bucket = new Bucket(stack, 'B');
    expect(
      () =>
        new Finance(stack, 'Finance', {
          exportBucket: bucket,
          resultsBucket: bucket,
          databaseName: 'Case-Book',
          workGroupName: 'casebook finance',
          firstPeriod: '2026-13',
          queries: [
            { name: 'P&L', description: 'by category', sql: 'SELECT 1' },
            { name: 'P&L', description: '', sql: 'x'.repeat(262_145) },
          ],
        }),
    ).toThrow(
      /Bad\/Finance: invalid configuration:\n {2}- databaseName "Case-Book" must be.*\n {2}- workGroupName "casebook finance" must be.*\n {2}- firstPeriod "2026-13" must be YYYY-MM\n {2}- two named queries are called P&L\n {2}- named query P&L: a description is 1 to 1024 characters\n {2}- named query P&L: its SQL is 1 to 262144 characters$/,
    );
  });
});
