import { Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildCasebookApp, synthCasebookApp } from './casebook-app.ts';

/** Properties through which CloudFormation would be given a physical name. */
const PHYSICAL_NAMES: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

describe('the Casebook app', () => {
  const { stateful, stateless, statefulTemplate, statelessTemplate } = synthCasebookApp();

  it('is environment-agnostic: synth needs no account, region or lookups', () => {
    for (const stack of [stateful, stateless]) {
      expect(Token.isUnresolved(stack.account)).toBe(true);
      expect(Token.isUnresolved(stack.region)).toBe(true);
    }
    expect(stateless.dependencies).toContain(stateful);
  });

  it('gives no resource a physical name', () => {
    for (const template of [statefulTemplate, statelessTemplate]) {
      const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: object }>;
      for (const [id, resource] of Object.entries(resources)) {
        const nameProperty = PHYSICAL_NAMES[resource.Type];
        if (nameProperty) expect(resource.Properties ?? {}, id).not.toHaveProperty(nameProperty);
      }
    }
  });

  it('synthesizes the same templates every time', () => {
    const again = buildCasebookApp();
    expect(Template.fromStack(again.stateful).toJSON()).toEqual(statefulTemplate.toJSON());
    expect(Template.fromStack(again.stateless).toJSON()).toEqual(statelessTemplate.toJSON());
  });
});
