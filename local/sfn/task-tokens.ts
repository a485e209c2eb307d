import { createHash, randomBytes } from 'node:crypto';
import type { JsonValue } from './history.ts';
import { SfnApiError } from './protocol.ts';

/** What SendTaskSuccess or SendTaskFailure delivered to a waiting task. */
export type TaskOutcome =
  | { kind: 'success'; output: JsonValue }
  | { kind: 'failure'; error: string | undefined; cause: string | undefined };

const TOKEN_BYTES = 66;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{88}$/;

/** A one-way fingerprint of a token, so spent tokens can be recognised (and persisted) without keeping them. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The task tokens of every execution. A token is live while its task waits; once the task completes,
 * times out or is aborted it is retired, and only its fingerprint is kept to answer TaskTimedOut.
 */
export class TaskTokens {
  private readonly live = new Map<string, (outcome: TaskOutcome) => void>();
  private readonly issued = new Set<string>();

  /** Mints a fresh opaque token whose outcome goes to `deliver`; returns the token and its fingerprint. */
  mint(deliver: (outcome: TaskOutcome) => void): { token: string; fingerprint: string } {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const print = fingerprint(token);
    this.live.set(token, deliver);
    this.issued.add(print);
    return { token, fingerprint: print };
  }

  /** Remembers tokens issued before a restart, so they answer TaskTimedOut rather than TaskDoesNotExist. */
  remember(fingerprints: Iterable<string>): void {
    for (const print of fingerprints) this.issued.add(print);
  }

  retire(token: string): void {
    this.live.delete(token);
  }

  /** Delivers an outcome to the task waiting on `token`, or throws the error AWS would answer with. */
  complete(token: string, outcome: TaskOutcome): void {
    const deliver = this.liveOrThrow(token);
    this.live.delete(token);
    deliver(outcome);
  }

  /** Checks that `token` still belongs to a waiting task (SendTaskHeartbeat), or throws as AWS would. */
  assertLive(token: string): void {
    this.liveOrThrow(token);
  }

  private liveOrThrow(token: string): (outcome: TaskOutcome) => void {
    const deliver = this.live.get(token);
    if (deliver) return deliver;
    if (!TOKEN_SHAPE.test(token)) throw new SfnApiError('InvalidToken', "Invalid Token: 'Invalid token'");
    if (this.issued.has(fingerprint(token))) {
      throw new SfnApiError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    throw new SfnApiError('TaskDoesNotExist', "Task Does Not Exist: 'Provided task does not exist'");
  }
}
