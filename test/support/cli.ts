/**
 * `casebook` (scripts/casebook.ts) run as a person runs it: in a process of its own, with only the
 * environment a user has — PATH, HOME and the variables named here — never the test process's,
 * where a stack started in-process leaves its tables, endpoints and credentials.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const CLI = join(import.meta.dirname, '../../scripts/casebook.ts');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** PATH and HOME, plus what the user set for this command. */
export function userEnvironment(variables: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? homedir(), ...variables };
}

/** Runs `casebook …args` with {@link userEnvironment}`(variables)`; a non-zero exit is a result, not a throw. */
export function casebook(
  args: readonly string[],
  variables: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return promisify(execFile)(process.execPath, [CLI, ...args], { env: userEnvironment(variables) }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}
