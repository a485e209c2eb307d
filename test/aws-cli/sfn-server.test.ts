/**
 * The local Step Functions server speaks the protocol the real AWS CLI speaks: `aws stepfunctions`
 * lists and describes its executions and reads its errors. Runs with `npm run test:aws-cli`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { awsCli } from '../support/aws-cli.ts';
import {
  ACCOUNT,
  closeHarnesses,
  type Harness,
  REGION,
  start,
  startHarness,
  untilClosed,
} from '../support/sfn-harness.ts';

afterEach(closeHarnesses);

const stepFunctions = (h: Harness, args: string[]) => awsCli(['stepfunctions', ...args], h.server.url);

describe('local Step Functions server and the AWS CLI', () => {
  it('lists and describes executions for `aws stepfunctions`', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'greet', 'from-the-cli', { who: 'Linus' });
    await untilClosed(h, executionArn);

    const listed = await stepFunctions(h, ['list-executions', '--state-machine-arn', h.arn('greet')]);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const executions = JSON.parse(listed.stdout).executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ executionArn, name: 'from-the-cli', status: 'SUCCEEDED' });
    // CLI v1 prints timestamps as the epoch seconds it received; v2 formats them as ISO 8601.
    const startDate = executions[0].startDate;
    const startedAt = typeof startDate === 'number' ? startDate * 1000 : Date.parse(startDate);
    expect(Math.abs(startedAt - Date.now())).toBeLessThan(60_000);

    const described = await stepFunctions(h, ['describe-execution', '--execution-arn', executionArn]);
    expect(described.code).toBe(0);
    const execution = JSON.parse(described.stdout);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).shouted).toBe('HELLO, LINUS!');

    const missing = await stepFunctions(h, [
      'describe-execution',
      '--execution-arn',
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:greet:nobody`,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ExecutionDoesNotExist');
  });
});
