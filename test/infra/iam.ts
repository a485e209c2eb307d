/** Reads IAM statements out of a synthesized template, per role, for permission assertions. */
import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';

/** One statement of an inline policy, as CloudFormation sees it. */
export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of every inline policy attached to `role`. */
export function statementsOf(template: Template, stack: Stack, role: IRole | undefined): Statement[] {
  if (!role) throw new Error('function has no role');
  const roleRef = JSON.stringify(stack.resolve(role.roleName));
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === roleRef))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

/** Every statement of every inline policy in the template. */
export function allStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

/** The statement's actions as an array. */
export function actionsOf(statement: Statement): string[] {
  return [statement.Action].flat();
}

/** Whether any of the statement's resources mentions `resolved` (a resolved token such as a table ARN). */
export function mentions(statement: Statement, resolved: unknown): boolean {
  return JSON.stringify(statement.Resource).includes(JSON.stringify(resolved));
}

/** Whether `action` is granted by `pattern`, which may end in `*` as IAM allows. */
export function actionMatches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return action.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase());
  return pattern.toLowerCase() === action.toLowerCase();
}
