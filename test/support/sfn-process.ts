/**
 * The local Step Functions server in a process of its own, so a test can `kill -9` it at a chosen
 * point. Run by `spawnSfn()` as `node test/support/sfn-process.ts <dataDir> <machines.json> <effects.log>`;
 * prints `READY <url>` once it listens.
 *
 * Its functions: `effect` appends its payload to the effects log (fsync'ed: that is the side effect)
 * and returns it; `flaky` does the same but fails with `Flaky` the first time it sees a payload.
 * SFN_TEST_DIE=after:<n> kills the process right after the n-th effect, before its result reaches
 * the server; SFN_TEST_DIE=before:<n> kills it when the n-th effect is invoked, before the effect.
 */
import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { startStepFunctionsServer } from '../../local/sfn/server.ts';

const [dataDir, machinesFile, effectsLog] = process.argv.slice(2);
if (!dataDir || !machinesFile || !effectsLog)
  throw new Error('usage: sfn-process.ts <dataDir> <machines.json> <effects.log>');
const [when, nth] = (process.env.SFN_TEST_DIE ?? ':').split(':');
let invoked = 0;

function effects(): string[] {
  try {
    return readFileSync(effectsLog as string, 'utf8')
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

function record(line: string): void {
  const fd = openSync(effectsLog as string, 'a');
  appendFileSync(fd, `${line}\n`);
  fsyncSync(fd);
  closeSync(fd);
}

const server = await startStepFunctionsServer({
  port: 0,
  region: 'us-east-1',
  accountId: '000000000000',
  dataDir,
  stateMachines: JSON.parse(readFileSync(machinesFile, 'utf8')),
  invokeFunction: async (name, payload) => {
    invoked++;
    if (when === 'before' && invoked === Number(nth)) process.kill(process.pid, 'SIGKILL');
    const line = JSON.stringify({ name, payload });
    const firstTime = !effects().includes(line);
    record(line);
    if (when === 'after' && invoked === Number(nth)) process.kill(process.pid, 'SIGKILL');
    if (name === 'flaky' && firstTime) throw Object.assign(new Error('not this time'), { name: 'Flaky' });
    return payload;
  },
});
process.stdout.write(`READY ${server.url}\n`);
