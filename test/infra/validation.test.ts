import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { LEDGER_TABLE } from '../../functions/adapters/tables.ts';
import { ENV } from '../../functions/env-names.ts';
import type { Route } from '../../functions/routes.ts';
import { CasebookApi } from '../../lib/constructs/casebook-api.ts';
import { DurableTable } from '../../lib/constructs/durable-table.ts';
import { IncidentWorkflow } from '../../lib/constructs/incident-workflow.ts';
import { parseOperationsSettings, parseSettings } from '../../lib/settings.ts';
import { buildCasebookApp, CDK_JSON_CONTEXT } from './casebook-app.ts';

/** The message of what `build` throws; fails the test if it does not throw. */
function errorOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

function someFunction(stack: Stack, id: string) {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
  });
}

describe('settings from CDK context', () => {
  it('reports every problem in one error, naming the context keys', () => {
    const message = errorOf(() =>
      buildCasebookApp({
        'casebook:mailFrom': 'Casebook <casebook@example.com>',
        'casebook:approvers': {
          legal: 'legal@example.com',
          business: 'not-an-address',
          cfo: 'cfo@example.com',
        },
      }),
    );
    expect(message).toContain('CasebookStateless: invalid configuration');
    expect(message).toContain('casebook:mailFrom must be a plain email address');
    expect(message).toContain('casebook:approvers.business must be an email address');
    expect(message).toContain('casebook:approvers.sre must be an email address');
    expect(message).toContain('casebook:approvers.cfo is not an approver role');
    expect(message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(4);
  });

  it('rejects missing settings rather than inventing defaults', () => {
    const message = errorOf(() =>
      buildCasebookApp({ 'casebook:mailFrom': undefined, 'casebook:approvers': undefined }),
    );
    expect(message).toContain('casebook:mailFrom');
    expect(message).toContain('casebook:approvers must be an object');
  });

  it('accepts approvers given as JSON text, as `cdk -c` passes them', () => {
    const result = parseSettings({
      mailFrom: 'casebook@example.org',
      approvers: '{"legal":"l@example.org","business":"b@example.org","sre":"s@example.org"}',
    });
    expect(result).toEqual({
      ok: true,
      settings: {
        mailFrom: 'casebook@example.org',
        approvers: { legal: 'l@example.org', business: 'b@example.org', sre: 's@example.org' },
      },
    });
  });

  it("checks casebook:approvalPolicy by the functions' own rule, over casebook:approvers, listing every problem", () => {
    const message = errorOf(() =>
      buildCasebookApp({
        'casebook:approvalPolicy': {
          approvers: { legal: { primary: { email: 'nobody', name: 'Lee' } } },
          sizes: { small: { roles: ['sre'], quorum: 2 }, tiny: { roles: ['sre'] } },
        },
      }),
    );
    expect(message).toContain(
      'casebook:approvalPolicy approvers.legal.primary.email must be an email address',
    );
    expect(message).toContain('casebook:approvalPolicy sizes.small.quorum is 2, more than the 1 role asked');
    expect(message).toContain('casebook:approvalPolicy sizes Unrecognized key: "tiny"');
  });

  it('hands a configured approval policy, as JSON, to the functions that ask approvers and to no other', () => {
    const policy = {
      approvers: { legal: { primary: { email: 'lee@example.com', name: 'Lee Legal' } } },
      sizes: { medium: { roles: ['legal', 'business', 'sre'], quorum: 2, veto: ['legal'] } },
    };
    const { stateless } = buildCasebookApp({ 'casebook:approvalPolicy': JSON.stringify(policy) });
    const variables = Object.values(Template.fromStack(stateless).findResources('AWS::Lambda::Function')).map(
      (r) =>
        (r as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment
          .Variables,
    );
    // request-approval opens rounds; watch-deadlines asks the backups at a round's deadline.
    const withPolicy = variables.filter((v) => ENV.approvalPolicy in v);
    expect(withPolicy).toHaveLength(2);
    for (const v of withPolicy) {
      expect(JSON.parse(String(v[ENV.approvalPolicy]))).toEqual(policy);
      expect(v[ENV.approverSre]).toBe((CDK_JSON_CONTEXT['casebook:approvers'] as { sre: string }).sre);
    }
  });

  it('reports approvers that are not JSON', () => {
    const result = parseSettings({ mailFrom: 'casebook@example.org', approvers: '{legal:' });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toContainEqual(expect.stringContaining('is not valid JSON'));
  });
});

describe('construct props are validated at synth time, all problems at once', () => {
  it('IncidentWorkflow: a substitution without a function and a function without a substitution', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'casebook-asl-'));
    const file = path.join(dir, 'machine.asl.json');
    writeFileSync(
      file,
      JSON.stringify({
        StartAt: 'A',
        States: {
          A: { Type: 'Task', Resource: `\${AFunctionArn}`, Next: 'B' },
          B: { Type: 'Task', Resource: `\${BFunctionArn}`, End: true },
        },
      }),
    );
    const stack = new Stack(new App(), 'S');
    const message = errorOf(
      () =>
        new IncidentWorkflow(stack, 'Workflow', {
          definitionFile: file,
          functions: { BFunctionArn: someFunction(stack, 'B'), CFunctionArn: someFunction(stack, 'C') },
        }),
    );
    expect(message).toContain(`no function given for \${AFunctionArn}`);
    expect(message).toContain(`function given for \${CFunctionArn}, which`);
    expect(message).not.toContain('BFunctionArn');
  });

  it('CasebookApi: duplicate routes, unknown functions and unexplained authentication', () => {
    const stack = new Stack(new App(), 'S');
    const routes: Route[] = [
      { method: 'GET', path: '/incidents', fn: 'incidentsApi', auth: 'iam' },
      { method: 'GET', path: '/incidents', fn: 'incidentsApi', auth: 'iam' },
      { method: 'POST', path: '/webhooks/{source}', fn: 'ingestAlert', auth: 'handler' },
    ];
    const message = errorOf(
      () =>
        new CasebookApi(stack, 'Api', {
          routes,
          functions: { incidentsApi: someFunction(stack, 'Incidents') },
          authentication: {},
          burstLimit: 0,
        }),
    );
    expect(message).toContain('route GET /incidents is defined twice');
    expect(message).toContain('route POST /webhooks/{source}: no function given for ingestAlert');
    expect(message).toContain('say how callers of ingestAlert are authenticated');
    expect(message).toContain('burstLimit must be a positive integer');
  });

  it('DurableTable: an attribute with two types and an index defined twice', () => {
    const stack = new Stack(new App(), 'S');
    const message = errorOf(
      () =>
        new DurableTable(stack, 'Table', {
          schema: {
            ...LEDGER_TABLE,
            globalSecondaryIndexes: [
              {
                indexName: 'bySeq',
                partitionKey: { name: 'seq', type: 'S' },
                sortKey: { name: 'at', type: 'S' },
              },
              {
                indexName: 'bySeq',
                partitionKey: { name: 'at', type: 'S' },
                sortKey: { name: 'x', type: 'S' },
              },
            ],
          },
        }),
    );
    expect(message).toContain('index bySeq is defined twice');
    expect(message).toContain('attribute seq is both N and S');
  });
});

describe('casebook:labourRates in CDK context', () => {
  const context = (labourRates: unknown) => (key: string) =>
    key === 'casebook:labourRates' ? labourRates : CDK_JSON_CONTEXT[key];

  it('passes the rates on as CASEBOOK_LABOUR_RATES text, and refuses bad ones at synth', () => {
    const rates = { SRE: { amount: '120.00', currency: 'EUR' } };
    const ok = parseOperationsSettings(context(rates));
    expect(ok.ok && JSON.parse(ok.settings.labourRates ?? '')).toEqual(rates);
    expect(parseOperationsSettings(context(undefined))).toMatchObject({ ok: true, settings: {} });
    const bad = parseOperationsSettings(context({ SRE: { amount: '120', currency: 'EURO' } }));
    expect(bad.ok ? [] : bad.problems).toEqual([
      'casebook:labourRates SRE.currency must be an ISO 4217 currency code (upper case, e.g. EUR)',
    ]);
  });
});
