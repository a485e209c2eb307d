/** A TypeScript script run in a child process, with its output read line by line and a SIGKILL at hand. */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** A running script. */
export interface ScriptProcess {
  readonly child: ChildProcess;
  /** Resolves with the first line of output that starts with `prefix`; rejects if the process ends first. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has ended (however it ended). */
  readonly exited: Promise<void>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

/** Runs `node <script> …args` with extra environment variables. */
export function runScript(script: string, args: string[], env: Record<string, string> = {}): ScriptProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  let stderr = '';
  // CASEBOOK_TEST_CHILD_LOG=<file>: what the child prints, appended there (with CASEBOOK_TEST_LOG_LEVEL=INFO, its handlers' logs).
  const log = process.env.CASEBOOK_TEST_CHILD_LOG;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (log) appendFileSync(log, chunk);
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (log) appendFileSync(log, chunk);
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    exited,
    line: async (prefix, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((l) => l.startsWith(prefix));
        if (found !== undefined) return found;
        if (ended() || Date.now() > deadline) {
          throw new Error(
            `${script} printed no "${prefix}" line (exit ${child.exitCode ?? child.signalCode}): ${stderr}`,
          );
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    kill: async () => {
      if (!ended()) child.kill('SIGKILL');
      await exited;
    },
  };
}
