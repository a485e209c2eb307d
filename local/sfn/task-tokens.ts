import { createHash, randomBytes } from 'node:crypto';
import type { JsonValue } from './history.ts';
import { SfnApiError } from './protocol.ts';

/** What SendTaskSuccess or SendTaskFailure delivered to a waiting task (AWS keeps a missing error as null). */
export type TaskOutcome =
  | { kind: 'success'; output: JsonValue }
  | { kind: 'failure'; error: string | null; cause: string | null };

/** The waiting task's side of a token: it records what arrives before the caller gets an answer. */
export interface TokenHolder {
  /** False when the task had already ended (timed out, say) by the time the outcome arrived. */
  deliver(outcome: TaskOutcome): Promise<boolean>;
  heartbeat(): Promise<void>;
}

const TOKEN_BYTES = 66;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{88}$/;

/** A one-way fingerprint of a token, so spent tokens can be recognised without keeping them. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface Entry {
  holder: TokenHolder | undefined;
  claimed: Promise<TokenHolder | undefined>;
  settle: (holder: TokenHolder | undefined) => void;
}

/**
 * The task tokens of every execution. A token is live while its task waits; once the task completes,
 * times out or is aborted it is retired, and only its fingerprint is kept to answer TaskTimedOut.
 *
 * After a restart the tokens of tasks that were waiting are reserved before their executions have
 * replayed up to them; a call that arrives meanwhile waits for the task to claim its token.
 */
export class TaskTokens {
  private readonly live = new Map<string, Entry>();
  private readonly issued = new Set<string>();

  /** A fresh opaque token (not live until a task claims it). */
  mint(): string {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.issued.add(fingerprint(token));
    return token;
  }

  /** Remembers a token issued before a restart, so it answers TaskTimedOut rather than TaskDoesNotExist. */
  remember(token: string): void {
    this.issued.add(fingerprint(token));
  }

  /** Marks the token of a task that was waiting when the server stopped as live, before replay claims it. */
  reserve(token: string): void {
    this.remember(token);
    if (!this.live.has(token)) this.live.set(token, entry(undefined));
  }

  /** Makes `token` live for the task that holds it. */
  claim(token: string, holder: TokenHolder): void {
    this.remember(token);
    const existing = this.live.get(token);
    if (existing) {
      existing.holder = holder;
      existing.settle(holder);
    } else {
      this.live.set(token, entry(holder));
    }
  }

  /** The task no longer waits (it completed, timed out, or was aborted). */
  retire(token: string): void {
    const existing = this.live.get(token);
    this.live.delete(token);
    existing?.settle(undefined);
  }

  /** Resolves once every reserved token has been claimed or retired. */
  async settled(): Promise<void> {
    await Promise.all([...this.live.values()].map((e) => e.claimed));
  }

  /** Delivers an outcome to the task waiting on `token` once it is recorded, or throws what AWS answers. */
  async complete(token: string, outcome: TaskOutcome): Promise<void> {
    const holder = await this.holderOrThrow(token);
    // Whoever gets here first wins; a second call finds the token spent.
    if (this.live.get(token)?.holder !== holder) throw timedOut();
    this.live.delete(token);
    if (!(await holder.deliver(outcome))) throw timedOut();
  }

  /** Throws what AWS answers for a token that is not live. */
  async assertLive(token: string): Promise<void> {
    await this.holderOrThrow(token);
  }

  /** SendTaskHeartbeat: throws as AWS would for a token that is not live. */
  async heartbeat(token: string): Promise<void> {
    await (await this.holderOrThrow(token)).heartbeat();
  }

  private async holderOrThrow(token: string): Promise<TokenHolder> {
    const existing = this.live.get(token);
    const holder = existing ? (existing.holder ?? (await existing.claimed)) : undefined;
    if (holder) return holder;
    if (!TOKEN_SHAPE.test(token)) throw new SfnApiError('InvalidToken', "Invalid Token: 'Invalid token'");
    if (this.issued.has(fingerprint(token))) throw timedOut();
    throw new SfnApiError('TaskDoesNotExist', "Task Does Not Exist: 'Provided task does not exist'");
  }
}

function entry(holder: TokenHolder | undefined): Entry {
  const { promise, resolve } = Promise.withResolvers<TokenHolder | undefined>();
  if (holder) resolve(holder);
  return { holder, claimed: promise, settle: resolve };
}

function timedOut(): SfnApiError {
  return new SfnApiError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
}
