import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionKey, type FunctionSpec, STATE_MACHINE } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import { synthCasebookApp } from './casebook-app.ts';
import { actionsOf, allStatements, statementsOf } from './iam.ts';

const { app, stateless, statelessTemplate: template } = synthCasebookApp();
const aslFile = path.join(REPO_ROOT, STATE_MACHINE.definitionFile);
const substituted = (Object.entries(FUNCTIONS) as [FunctionKey, FunctionSpec][]).filter(
  ([, spec]) => spec.substitution,
);
const stateMachineRef = stateless.resolve(stateless.stateMachine.stateMachineArn);

describe('the incident lifecycle state machine', () => {
  it('is the only state machine, and a Standard one', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      StateMachineName: Match.absent(),
    });
  });

  it("substitutes each catalog substitution with that function's ARN, and nothing else", () => {
    const expected = Object.fromEntries(
      substituted.map(([key, spec]) => [
        spec.substitution,
        stateless.resolve(stateless.functions[key].functionArn),
      ]),
    );
    expect(Object.keys(expected).sort()).toEqual([
      'AnchorLedgerFunctionArn',
      'CarryOutEffectsFunctionArn',
      'CheckRefundsFunctionArn',
      'HoldForPeopleFunctionArn',
      'RecordPhaseFunctionArn',
      'RequestApprovalFunctionArn',
      'WatchDeadlinesFunctionArn',
    ]);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectEquals(expected),
    });
  });

  it('substitutes every placeholder the ASL file uses', () => {
    const used = new Set([...readFileSync(aslFile, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect(used).toEqual(new Set(substituted.map(([, spec]) => spec.substitution)));
  });

  it('deploys the ASL file itself, byte for byte', () => {
    const [resource] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const location = resource?.Properties.DefinitionS3Location as { Key: string };
    expect(resource?.Properties.DefinitionString).toBeUndefined();
    expect(location.Key).toMatch(/\.json$/);

    const assembly = app.synth();
    const manifest = JSON.parse(
      readFileSync(path.join(assembly.directory, `${stateless.artifactId}.assets.json`), 'utf8'),
    ) as {
      files: Record<
        string,
        { source: { path: string }; destinations: Record<string, { objectKey: string }> }
      >;
    };
    const asset = Object.values(manifest.files).find((file) =>
      Object.values(file.destinations).some((d) => d.objectKey === location.Key),
    );
    expect(asset).toBeDefined();
    const deployed = readFileSync(
      path.join(assembly.directory, (asset as { source: { path: string } }).source.path),
    );
    expect(deployed.equals(readFileSync(aslFile))).toBe(true);
  });

  it('logs every event without execution data, so task tokens and customer data stay out of logs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        IncludeExecutionData: false,
        Level: 'ALL',
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('may invoke exactly the substituted functions, by unqualified ARN', () => {
    const statements = statementsOf(template, stateless, (stateless.stateMachine as StateMachine).role);
    const invokes = statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    const resources = invokes.flatMap((s) => [s.Resource].flat());
    expect(resources).toHaveLength(substituted.length);
    expect(resources).toEqual(
      expect.arrayContaining(
        substituted.map(([key]) => stateless.resolve(stateless.functions[key].functionArn)),
      ),
    );
    // No other role may invoke the lifecycle's functions either.
    expect(
      allStatements(template).filter((s) => actionsOf(s).includes('lambda:InvokeFunction')),
    ).toHaveLength(invokes.length);
  });

  it.each([['ExecutionsFailed'], ['ExecutionThrottled'], ['ExecutionsAborted'], ['ExecutionsTimedOut']])(
    'alarms on %s',
    (metricName) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    },
  );

  it('has exactly the four lifecycle alarms', () => {
    const lifecycle = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmDescription: Match.stringLikeRegexp('^Casebook incident lifecycle') },
    });
    expect(Object.keys(lifecycle)).toHaveLength(4);
    expect(stateless.workflowAlarms).toHaveLength(4);
  });
});
