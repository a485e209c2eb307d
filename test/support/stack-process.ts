/**
 * The local stack in a process of its own, so that a test can `kill -9` all of it. Run by
 * `spawnStack()` (local-stack.ts) as `node test/support/stack-process.ts <dataDir> <portsJson>`;
 * prints `READY <json>` once everything listens.
 *
 * CASEBOOK_TEST_HOLD=<function>:<n> makes a crash point: the n-th invocation of that function runs
 * to its end, but its result is held back (Step Functions never learns it), and every later
 * invocation of it is held before it runs; the process prints `HELD <function> <n>` and waits to be
 * killed. That is "the task did its work and the process died before the result was recorded".
 *
 * CASEBOOK_TEST_HOLD=provider:<refund|credit|send>:<before|after>:<n> makes one inside Act: the
 * n-th refund, credit or e-mail is held before the provider is called (its intent is on the ledger)
 * or after the provider took it (before Act records the outcome); the process prints
 * `HELD <refund|credit|send> <n>` and waits to be killed.
 *
 * CASEBOOK_TEST_HOLD=mail:<before|after>:<n>:<subject text> holds the n-th e-mail whose subject
 * contains the text before SES is called, or after SES took it (before the caller learns it was
 * sent); the process prints `HELD mail <n>` and waits to be killed.
 *
 * CASEBOOK_TEST_HEAP=1: at each SIGUSR2 the process collects its garbage fully and prints
 * `HEAP <n> <bytes>`, its heap in use the n-th time it was asked.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { StripePayments } from '../../functions/adapters/stripe-payments.ts';
import { LocalLambdaRuntime } from '../../local/lambda-runtime.ts';
import { startLocalStack } from '../../local/stack.ts';
import { ROOT, WEBHOOK_TOKEN } from './local-stack.ts';

const [dataDir, portsJson] = process.argv.slice(2);
if (!dataDir || !portsJson) throw new Error('usage: stack-process.ts <dataDir> <portsJson>');

/** Holds the n-th `call` to a provider before or after the provider takes it (see above). */
function holdProvider(call: string, when: string, nth: number): void {
  const owner = (call === 'send' ? SesMailer.prototype : StripePayments.prototype) as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  const original = owner[call] as (...args: unknown[]) => Promise<unknown>;
  let seen = 0;
  owner[call] = async function (this: unknown, ...args: unknown[]) {
    const n = ++seen;
    if (n !== nth) return original.apply(this, args);
    if (when === 'after') await original.apply(this, args);
    process.stdout.write(`HELD ${call} ${n}\n`);
    return new Promise<never>(() => {});
  };
}

/** Holds the n-th e-mail whose subject contains `text`, before or after SES took it (see above). */
function holdMail(when: string, nth: number, text: string): void {
  const send = SesMailer.prototype.send;
  let seen = 0;
  SesMailer.prototype.send = async function (this: SesMailer, message) {
    if (!message.subject.includes(text) || ++seen !== nth) return send.call(this, message);
    if (when === 'after') await send.call(this, message);
    process.stdout.write(`HELD mail ${seen}\n`);
    return new Promise<never>(() => {});
  };
}

/** Holds the n-th invocation of the function `name` after it ran (see above). */
function holdFunction(name: string, nth: number): void {
  const invoke = LocalLambdaRuntime.prototype.invoke;
  let seen = 0;
  let held = false;
  LocalLambdaRuntime.prototype.invoke = async function (this: LocalLambdaRuntime, key, event) {
    if (key !== name) return invoke.call(this, key, event);
    if (held) return new Promise<never>(() => {});
    seen++;
    if (seen < nth) return invoke.call(this, key, event);
    held = true;
    await invoke.call(this, key, event);
    process.stdout.write(`HELD ${name} ${seen}\n`);
    return new Promise<never>(() => {});
  };
}

// Several crash points may be set at once, separated by commas.
for (const spec of process.env.CASEBOOK_TEST_HOLD?.split(',').filter(Boolean) ?? []) {
  const parts = spec.split(':');
  if (parts[0] === 'provider') holdProvider(parts[1] ?? '', parts[2] ?? '', Number(parts[3]));
  else if (parts[0] === 'mail') holdMail(parts[1] ?? '', Number(parts[2]), parts.slice(3).join(':'));
  else holdFunction(parts[0] ?? '', Number(parts[1]));
}

if (process.env.CASEBOOK_TEST_HEAP) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let asked = 0;
  process.on('SIGUSR2', () => {
    const n = ++asked;
    // Several passes, a tick apart: what a finished request held is unreachable by the last one.
    let passes = 0;
    const pass = () => {
      gc();
      if (++passes < 4) setTimeout(pass, 50);
      else process.stdout.write(`HEAP ${n} ${process.memoryUsage().heapUsed}\n`);
    };
    pass();
  });
}

const stack = await startLocalStack({
  rootDir: ROOT,
  dataDir,
  ports: JSON.parse(portsJson),
  alertmanagerToken: WEBHOOK_TOKEN,
  handlerLogLevel: process.env.CASEBOOK_TEST_LOG_LEVEL ?? 'SILENT',
});
process.stdout.write(
  `READY ${JSON.stringify({ endpoints: stack.endpoints, stateMachineArn: stack.stateMachineArn, tables: stack.tables })}\n`,
);
