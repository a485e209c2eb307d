import type { IConstruct } from 'constructs';

/**
 * One error listing every problem, so a misconfigured app is fixed in one round instead of one
 * synth per mistake.
 */
export function invalidConfiguration(scope: IConstruct, problems: readonly string[]): Error {
  const where = scope.node.path || 'app';
  return new Error(`${where}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** Throws {@link invalidConfiguration} if there is any problem. */
export function throwIfInvalid(scope: IConstruct, problems: readonly string[]): void {
  if (problems.length > 0) throw invalidConfiguration(scope, problems);
}
