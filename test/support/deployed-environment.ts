/**
 * The environment each function starts with once deployed: the variables its synthesized template
 * gives it, references to other resources resolved to plausible values of their kind, plus what
 * Lambda itself sets. For the test that starts every handler with it and the cold-start benchmark.
 */
import { FUNCTIONS, type FunctionKey } from '../../functions/catalog.ts';
import { synthCasebookApp } from '../infra/casebook-app.ts';
import { type CfnResources, resolveIn } from '../infra/template-values.ts';

/** The synthesized templates, as `resolveIn` reads them (a type, so it is a record of templates too). */
export type DeployedTemplates = {
  readonly stateless: { Resources: CfnResources };
  readonly stateful: { Resources: CfnResources; Outputs: Record<string, { Value: unknown }> };
};

/** What a deployed function has: the template's variables and Lambda's own. */
export interface DeployedEnvironments {
  readonly templates: DeployedTemplates;
  /** The function's variables in the template, resolved. */
  template(key: FunctionKey): Record<string, string>;
  /** What the Lambda runtime sets in the function's environment besides the template's. */
  lambda(key: FunctionKey): Record<string, string>;
}

/** Synthesizes the app (without bundling) and reads each function's environment from it. */
export function deployedEnvironments(): DeployedEnvironments {
  const { stateless, statelessTemplate, statefulTemplate } = synthCasebookApp();
  const templates: DeployedTemplates = {
    stateless: statelessTemplate.toJSON() as DeployedTemplates['stateless'],
    stateful: statefulTemplate.toJSON() as DeployedTemplates['stateful'],
  };
  const properties = (key: FunctionKey) => {
    const logicalId = (
      stateless.resolve(stateless.functions[key].functionArn) as { 'Fn::GetAtt': [string, string] }
    )['Fn::GetAtt'][0];
    return (
      templates.stateless.Resources[logicalId] as {
        Properties: { MemorySize?: number; Environment?: { Variables?: Record<string, unknown> } };
      }
    ).Properties;
  };
  return {
    templates,
    template: (key) =>
      Object.fromEntries(
        Object.entries(properties(key).Environment?.Variables ?? {}).map(([name, value]) => [
          name,
          String(resolveIn(templates, value)),
        ]),
      ),
    lambda: (key) => ({
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: `casebook-${FUNCTIONS[key].name}`,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(properties(key).MemorySize ?? 128),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: '/var/task',
      TZ: ':UTC',
    }),
  };
}
