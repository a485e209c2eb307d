/**
 * The local stack in a process of its own, so that a test can `kill -9` all of it. Run by
 * `spawnStack()` (local-stack.ts) as `node test/support/stack-process.ts <dataDir> <portsJson>`;
 * prints `READY <json>` once everything listens.
 *
 * CASEBOOK_TEST_HOLD=<function>:<n> makes a crash point: the n-th invocation of that function runs
 * to its end, but its result is held back (Step Functions never learns it), and every later
 * invocation of it is held before it runs; the process prints `HELD <function> <n>` and waits to be
 * killed. That is "the task did its work and the process died before the result was recorded".
 */
import { LocalLambdaRuntime } from '../../local/lambda-runtime.ts';
import { startLocalStack } from '../../local/stack.ts';
import { ROOT, WEBHOOK_TOKEN } from './local-stack.ts';

const [dataDir, portsJson] = process.argv.slice(2);
if (!dataDir || !portsJson) throw new Error('usage: stack-process.ts <dataDir> <portsJson>');

const hold = process.env.CASEBOOK_TEST_HOLD?.split(':');
if (hold) {
  const [name, nth] = hold;
  const invoke = LocalLambdaRuntime.prototype.invoke;
  let seen = 0;
  let held = false;
  LocalLambdaRuntime.prototype.invoke = async function (this: LocalLambdaRuntime, key, event) {
    if (key !== name) return invoke.call(this, key, event);
    if (held) return new Promise<never>(() => {});
    seen++;
    if (seen < Number(nth)) return invoke.call(this, key, event);
    held = true;
    await invoke.call(this, key, event);
    process.stdout.write(`HELD ${name} ${seen}\n`);
    return new Promise<never>(() => {});
  };
}

const stack = await startLocalStack({
  rootDir: ROOT,
  dataDir,
  ports: JSON.parse(portsJson),
  alertmanagerToken: WEBHOOK_TOKEN,
  handlerLogLevel: 'SILENT',
});
process.stdout.write(
  `READY ${JSON.stringify({ endpoints: stack.endpoints, stateMachineArn: stack.stateMachineArn, tables: stack.tables })}\n`,
);
