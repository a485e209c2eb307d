/** Running the real AWS CLI against the local stack, for the checks in `test/aws-cli/`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `aws <args> --endpoint-url <endpoint> --output json` with throwaway credentials and no profile,
 * so nothing on the machine (a default profile, instance metadata) changes what it sends.
 */
export async function awsCli(args: string[], endpoint: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  try {
    const { stdout, stderr } = await run('aws', [...args, '--endpoint-url', endpoint, '--output', 'json'], {
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & {
      code?: number | string;
      stdout?: string;
      stderr?: string;
    };
    // Refuse rather than skip: these checks exist to drive the real CLI.
    if (failure.code === 'ENOENT') {
      throw new Error(
        'The AWS CLI (`aws`) is not on PATH; `npm run test:aws-cli` needs it (apt-get install awscli).',
      );
    }
    return { code: Number(failure.code), stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

/** Parses the JSON of a call that must succeed, or fails with what the CLI printed. */
export async function awsCliJson<T>(args: string[], endpoint: string): Promise<T> {
  const result = await awsCli(args, endpoint);
  if (result.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
