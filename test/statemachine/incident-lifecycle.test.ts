/**
 * The lifecycle ASL executed as a file (the same one CDK deploys) on the local Step Functions
 * server, with stand-in functions that record what they were asked and answer as the real ones
 * would: named scenarios, asserted on what the functions saw and on the execution's status and
 * history. People are played by the test: it answers each wait's task token as the workroom does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { anchorLedgerSchema } from '../../functions/anchor-ledger/anchor-ledger.ts';
import { carryOutEffectsSchema } from '../../functions/carry-out-effects/carry-out-effects.ts';
import { checkRefundsSchema } from '../../functions/check-refunds/check-refunds.ts';
import type { ActProgress } from '../../functions/domain/effects.ts';
import { CasebookError, ERROR_NAMES } from '../../functions/domain/errors.ts';
import { statusOnEntering } from '../../functions/domain/incident.ts';
import type { Phase, Status } from '../../functions/domain/vocabulary.ts';
import { holdForPeopleSchema } from '../../functions/hold-for-people/hold-for-people.ts';
import { lifecycleStepSchema } from '../../functions/record-phase/record-phase.ts';
import { requestApprovalSchema } from '../../functions/request-approval/request-approval.ts';
import type { AnchorResult } from '../../functions/use-cases/anchor-ledger.ts';
import type { CheckRefundsResult } from '../../functions/use-cases/check-refunds.ts';
import type { LifecycleStepResult } from '../../functions/use-cases/enter-phase.ts';
import type { requestApproval } from '../../functions/use-cases/request-approval.ts';
import { watchDeadlinesSchema } from '../../functions/watch-deadlines/watch-deadlines.ts';
import { functionSubstitutions, loadDefinition } from '../../local/asl.ts';
import { localFunctionArn } from '../../local/lambda-runtime.ts';
import type { StepFunctionsServer } from '../../local/sfn/server.ts';
import { startStepFunctionsServer } from '../../local/sfn/server.ts';
import { waitFor } from '../support/local-stack.ts';

const ROOT = join(import.meta.dirname, '../..');
const NAME = 'lifecycle-under-test';

interface Call {
  fn: string;
  payload: Record<string, unknown>;
}

/**
 * Stand-ins for the functions the ASL invokes. Each parses what it is sent with the real
 * handler's input schema, and answers with the real handler's result type, so what one stand-in
 * returns and the ASL passes on (a round, Act's outcome) is what the next state expects.
 */
class FakeFunctions {
  readonly calls: Call[] = [];
  /** Payloads a real handler's schema refused: each test expects none. */
  readonly refused: string[] = [];
  /** What each run of Act answers, in turn; `done` once the list is used up. */
  actOutcomes: ActProgress['outcome'][] = [];
  actFailures = 0;
  /** How many anchors in a row fail. */
  anchorFailures = 0;
  /** What each check of a submitted plan's refunds answers, in turn; `passed` once the list is used up. */
  checkOutcomes: CheckRefundsResult['outcome'][] = [];
  /** Checks that fail before answering: a passing failure (the provider did not answer), or a bug. */
  checkFailures: ('passing' | 'bug')[] = [];
  failOnPhase: string | undefined;
  /** A phase whose entry finds the incident cancelled. */
  cancelledOnPhase: string | undefined;
  /** How long each wait may last, as watch-deadlines answers, by step. */
  waitSeconds: Record<string, number> = {};
  /** Approval rounds left after a rejection, as the plan-rejected step answers. */
  roundsLeft = 4;
  /** The task tokens of waits for people, by step. */
  readonly waits = new Map<string, string>();
  private status: Status = 'OPEN';
  private phase: Phase = 'Detect';
  private round = 0;

  invoke = async (nameOrArn: string, payload: unknown): Promise<unknown> => {
    const fn = nameOrArn.split(':').at(-1) ?? nameOrArn;
    this.calls.push({ fn, payload: payload as Record<string, unknown> });
    switch (fn) {
      case 'casebook-record-phase':
        return this.recordPhase(this.parse(fn, lifecycleStepSchema, payload));
      case 'casebook-request-approval': {
        const request = this.parse(fn, requestApprovalSchema, payload);
        return {
          round: request.round,
          asked: ['legal', 'business', 'sre'],
          emailed: 3,
        } satisfies Awaited<ReturnType<typeof requestApproval>>;
      }
      case 'casebook-carry-out-effects': {
        this.parse(fn, carryOutEffectsSchema, payload);
        if (this.actFailures > 0) {
          this.actFailures--;
          throw new CasebookError(ERROR_NAMES.dependencyUnavailable, 'DynamoDB throttled');
        }
        const outcome = this.actOutcomes.shift() ?? 'done';
        return {
          outcome,
          counts: { planned: 0, intent: 0, executed: 0, confirmed: 2, attention: 0, voided: 0 },
          retryAfterSeconds: outcome === 'waiting-provider' ? 1 : 0,
        } satisfies ActProgress;
      }
      case 'casebook-check-refunds': {
        this.parse(fn, checkRefundsSchema, payload);
        const failure = this.checkFailures.shift();
        if (failure === 'passing')
          throw new CasebookError(ERROR_NAMES.dependencyUnavailable, 'the payments provider did not answer');
        if (failure === 'bug') throw new Error('no submitted plan to check');
        const outcome = this.checkOutcomes.shift() ?? 'passed';
        return {
          outcome,
          refunds: 3,
          problems: outcome === 'passed' ? 0 : 2,
        } satisfies CheckRefundsResult;
      }
      case 'casebook-hold-for-people': {
        const hold = this.parse(fn, holdForPeopleSchema, payload);
        this.waits.set(hold.step, hold.taskToken);
        return { settled: false };
      }
      case 'casebook-watch-deadlines': {
        const watch = this.parse(fn, watchDeadlinesSchema, payload);
        // The clock is read when a wait ended: its token is gone, the next one is the wait's anew.
        this.waits.delete(watch.step);
        return {
          seconds: Math.min(this.waitSeconds[watch.step] ?? 3600, watch.atMostSeconds ?? 3600),
          escalated: 0,
        };
      }
      case 'casebook-anchor-ledger':
        this.parse(fn, anchorLedgerSchema, payload);
        if (this.anchorFailures > 0) {
          this.anchorFailures--;
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
        }
        return { key: 'anchors/x.json', chains: 1 } satisfies AnchorResult;
      default:
        throw Object.assign(new Error(`no function ${fn}`), { name: 'Lambda.ResourceNotFoundException' });
    }
  };

  private recordPhase(step: z.infer<typeof lifecycleStepSchema>): LifecycleStepResult | object {
    const incident = { incidentId: step.incidentId };
    switch (step.kind) {
      case 'close':
        this.status = 'CLOSED';
        return { ...incident, status: this.status, phase: this.phase };
      case 'halt':
        return { ...incident, status: this.status, phase: this.phase };
      case 'invite':
        return { invited: 2 };
      case 'plan-rejected':
        return { roundsLeft: this.roundsLeft };
      case 'anchor-failed':
        return { escalated: true };
      case 'enter-phase':
        if (step.phase === this.failOnPhase) throw new Error(`boom in ${step.phase}`);
        if (step.phase === this.cancelledOnPhase) {
          throw new CasebookError(ERROR_NAMES.cancelled, `${step.incidentId} was cancelled`);
        }
        this.status = statusOnEntering(step.phase, this.status);
        this.phase = step.phase;
        if (step.phase === 'Decide') this.round += 1;
        return {
          ...incident,
          status: this.status,
          phase: this.phase,
          ...(step.phase === 'Decide' ? { round: this.round } : {}),
        };
    }
  }

  private parse<T>(fn: string, schema: z.ZodType<T>, payload: unknown): T {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    this.refused.push(`${fn}: ${z.prettifyError(parsed.error)}`);
    throw Object.assign(new Error(`${fn} refused its payload`), { name: 'Test.PayloadRefused' });
  }

  steps(): string[] {
    return this.calls
      .filter((c) => c.fn === 'casebook-record-phase')
      .map((c) =>
        c.payload.kind === 'enter-phase'
          ? String(c.payload.phase)
          : `${c.payload.kind}${c.payload.reason ? `:${c.payload.reason}` : ''}`,
      );
  }

  /** How often the clock was read before the wait of `step`. */
  watched(step: string): number {
    return this.calls.filter((c) => c.fn === 'casebook-watch-deadlines' && c.payload.step === step).length;
  }
}

/**
 * Lets the waits of `step` last an hour again and waits until the clock was read afresh: a token
 * taken from a wait of a second could time out before a test, on a busy machine, answers it.
 */
async function withAnHourToGo(fake: FakeFunctions, step: string): Promise<void> {
  fake.waitSeconds = {};
  const looked = fake.watched(step);
  await waitFor(`the ${step} wait entered with an hour to go`, async () =>
    fake.watched(step) > looked ? true : undefined,
  );
}

/** The steps of a lifecycle that goes through every phase once, as record-phase sees them. */
const EVERY_STEP = ['Detect', 'invite', 'Contain', 'Understand', 'Decide', 'Act', 'Learn', 'close'];

const fakes: FakeFunctions[] = [];
function fakeFunctions(): FakeFunctions {
  const fake = new FakeFunctions();
  fakes.push(fake);
  return fake;
}
afterEach(() => {
  for (const fake of fakes.splice(0)) expect(fake.refused).toEqual([]);
});

let server: StepFunctionsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function boot(
  fake: FakeFunctions,
  tweak: (definition: Record<string, unknown>) => void = () => undefined,
) {
  const definition = loadDefinition(ROOT, functionSubstitutions(localFunctionArn)) as Record<string, unknown>;
  tweak(definition);
  server = await startStepFunctionsServer({
    port: 0,
    region: 'us-east-1',
    accountId: '000000000000',
    dataDir: mkdtempSync(join(tmpdir(), 'casebook-asl-')),
    stateMachines: [{ name: NAME, definition }],
    invokeFunction: fake.invoke,
  });
  const sfn = new SFNClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const arn = server.stateMachineArn(NAME);
  const start = async (input: Record<string, unknown>, name = 'INC-2026-0001') =>
    (await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) })))
      .executionArn as string;
  const finished = (executionArn: string) =>
    waitFor('the execution to finish', async () => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING' ? undefined : d;
    });
  const history = async (executionArn: string) =>
    (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
  /**
   * Plays the person a wait waits for: its task succeeds, as the workroom makes it. A wait that
   * times out and is entered again meanwhile has a new token: the person answers that one, as the
   * workroom finds the current wait on the server.
   */
  const settle = async (step: string) => {
    for (;;) {
      const token = await waitFor(`the ${step} wait`, async () => fake.waits.get(step));
      if (fake.waits.get(step) === token) fake.waits.delete(step);
      try {
        await sfn.send(
          new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ settledBy: 'a person' }) }),
        );
        return;
      } catch (error) {
        if ((error as Error).name !== 'TaskTimedOut') throw error;
      }
    }
  };
  /** The round's one wait answered as the approval page answers it when the quorum is reached. */
  const approveAll = () => settle('decide');
  /** The round's one wait failed as the approval page fails it when the round cannot approve. */
  const sendBack = async (cause: string) => {
    const token = await waitFor('the round wait', async () => fake.waits.get('decide'));
    fake.waits.delete('decide');
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: ERROR_NAMES.planRejected, cause }));
    return token;
  };
  /** People contain the incident, submit a plan and the triangle approves it. */
  const workToAct = async () => {
    await settle('contain');
    await settle('understand');
    await approveAll();
  };
  return { sfn, start, finished, history, settle, approveAll, sendBack, workToAct };
}

describe('incident-lifecycle.asl.json', () => {
  it('happy path: every phase waits for its people, one approval round, Act once, the ledger anchored, closed', async () => {
    const fake = fakeFunctions();
    const { start, finished, history, settle, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await workToAct();
    await settle('learn');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(EVERY_STEP);
    // The clock is read before every wait for people.
    expect(['contain', 'understand', 'decide', 'learn'].map((s) => fake.watched(s))).toEqual([1, 1, 1, 1]);
    // The approvers are asked once, by incident and round: no token travels to them.
    const requests = fake.calls.filter((c) => c.fn === 'casebook-request-approval').map((c) => c.payload);
    expect(requests).toEqual([{ incidentId: 'INC-2026-0001', round: 1 }]);
    const holds = fake.calls.filter((c) => c.fn === 'casebook-hold-for-people').map((c) => c.payload.step);
    expect(holds).toEqual(['contain', 'understand', 'decide', 'learn']);
    // Act is handed the incident, nothing else: no effect and no customer travels in the state.
    expect(fake.calls.filter((c) => c.fn === 'casebook-carry-out-effects').map((c) => c.payload)).toEqual([
      { incidentId: 'INC-2026-0001' },
    ]);
    expect(fake.calls.find((c) => c.fn === 'casebook-anchor-ledger')?.payload).toEqual({
      reason: 'closed INC-2026-0001',
    });
    // Every step knows which execution it belongs to, and each entry into a phase is told apart.
    const recorded = fake.calls.filter((c) => c.fn === 'casebook-record-phase');
    expect(recorded.every((c) => c.payload.execution === 'INC-2026-0001')).toBe(true);
    expect(
      recorded
        .filter((c) => c.payload.kind === 'enter-phase')
        .every((c) => typeof c.payload.entered === 'string'),
    ).toBe(true);
    const entered = (await history(arn))
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(
      expect.arrayContaining([
        'Detect',
        'Contain',
        'Wait for containment',
        'Wait for a submitted plan',
        'Decide',
        'Ask the approvers the policy names',
        'Wait for the approvers to decide',
        'Act',
        'Wait for the postmortem',
        'Closed',
      ]),
    );
  });

  it('does not pass a wait by itself: at its deadline the clock is read again and it waits on', async () => {
    const fake = fakeFunctions();
    fake.waitSeconds = { contain: 1 };
    const { start, settle, finished, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await waitFor(
      'the containment wait to time out twice',
      async () => (fake.watched('contain') >= 3 ? true : undefined),
      10_000,
    );
    expect(fake.steps()).toEqual(['Detect', 'invite', 'Contain']);
    await withAnHourToGo(fake, 'contain');
    await workToAct();
    await settle('learn');
    expect((await finished(arn)).status).toBe('SUCCEEDED');
  }, 20_000);

  it('a moved deadline ends the wait, the clock is read again, and a new wait begins', async () => {
    const fake = fakeFunctions();
    const { sfn, start, settle, finished, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    const first = await waitFor('the containment wait', async () => fake.waits.get('contain'));
    fake.waits.delete('contain');
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: first, error: ERROR_NAMES.deadlineMoved, cause: 'SEV1 now' }),
    );
    const second = await waitFor('a new containment wait', async () => fake.waits.get('contain'));
    expect(second).not.toBe(first);
    expect(fake.watched('contain')).toBe(2);
    await workToAct();
    await settle('learn');
    expect((await finished(arn)).status).toBe('SUCCEEDED');
  });

  it('a cancel by the SRE lead ends the execution in Succeed, from a wait or from the next phase', async () => {
    const fake = fakeFunctions();
    const { sfn, start, finished, history } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    const token = await waitFor('the containment wait', async () => fake.waits.get('contain'));
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: ERROR_NAMES.cancelled, cause: 'false alarm' }),
    );
    expect((await finished(arn)).status).toBe('SUCCEEDED');
    const last = (await history(arn)).filter((e) => e.type?.endsWith('StateEntered')).at(-1);
    expect(last?.stateEnteredEventDetails?.name).toBe('Cancelled by the SRE lead');

    const late = fakeFunctions();
    late.cancelledOnPhase = 'Contain';
    await server?.close();
    const again = await boot(late);
    const done = await again.finished(await again.start({ incidentId: 'INC-2026-0002' }, 'INC-2026-0002'));
    expect(done.status).toBe('SUCCEEDED');
    expect(late.steps()).toEqual(['Detect', 'invite', 'Contain']);
  });

  it('a round that does not approve sends the incident back to Understand for a revised plan, and the next round is asked anew', async () => {
    const fake = fakeFunctions();
    const { sfn, start, finished, settle, approveAll, sendBack } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await settle('contain');
    await settle('understand');
    const token = await sendBack('Vetoed: Legal rejected: the ToS requires a refund (Legal holds a veto)');
    await waitFor('the rejection recorded', async () =>
      fake.steps().includes('plan-rejected') ? true : undefined,
    );
    // The round's wait is over: its token resumes nothing any more.
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    const rejected = fake.calls.find((c) => c.payload.kind === 'plan-rejected')?.payload;
    expect(JSON.stringify(rejected?.failure)).toContain('requires a refund');
    await settle('understand');
    await approveAll();
    await settle('learn');
    expect((await finished(arn)).status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual([
      'Detect',
      'invite',
      'Contain',
      'Understand',
      'Decide',
      'plan-rejected',
      'Understand',
      'Decide',
      'Act',
      'Learn',
      'close',
    ]);
    const rounds = fake.calls.filter((c) => c.fn === 'casebook-request-approval').map((c) => c.payload.round);
    expect(rounds).toEqual([1, 2]);
  });

  it('checks the refunds before any approver is asked: problems send the plan back to Understand with no round opened', async () => {
    const fake = fakeFunctions();
    fake.checkOutcomes = ['changes-requested', 'not-submitted', 'passed'];
    const { start, finished, history, settle, approveAll } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await settle('contain');
    await settle('understand');
    await waitFor('the plan back in Understand', async () =>
      fake.steps().filter((s) => s === 'Understand').length >= 2 ? true : undefined,
    );
    // Nobody was asked: no round opened, none recorded as rejected.
    expect(fake.calls.some((c) => c.fn === 'casebook-request-approval')).toBe(false);
    expect(fake.steps()).not.toContain('Decide');
    await settle('understand');
    await settle('understand');
    await approveAll();
    await settle('learn');
    expect((await finished(arn)).status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual([
      'Detect',
      'invite',
      'Contain',
      'Understand',
      'Understand',
      'Understand',
      'Decide',
      'Act',
      'Learn',
      'close',
    ]);
    // The check is handed the incident only, once per submitted plan; the round that opens is the first.
    expect(fake.calls.filter((c) => c.fn === 'casebook-check-refunds').map((c) => c.payload)).toEqual([
      { incidentId: 'INC-2026-0001' },
      { incidentId: 'INC-2026-0001' },
      { incidentId: 'INC-2026-0001' },
    ]);
    expect(
      fake.calls.filter((c) => c.fn === 'casebook-request-approval').map((c) => c.payload.round),
    ).toEqual([1]);
    const entered = (await history(arn)).map((e) => e.stateEnteredEventDetails?.name).filter(Boolean);
    expect(entered.filter((n) => n === 'Check the refunds with the payments provider')).toHaveLength(3);
    expect(entered.indexOf('Check the refunds with the payments provider')).toBeLessThan(
      entered.indexOf('Decide'),
    );
  }, 20_000);

  it('retries a check whose provider did not answer, and a check that fails records the failure', async () => {
    const passing = fakeFunctions();
    passing.checkFailures = ['passing'];
    const first = await boot(passing);
    const arn = await first.start({ incidentId: 'INC-2026-0001' });
    await first.settle('contain');
    await first.settle('understand');
    await first.approveAll();
    await first.settle('learn');
    expect((await first.finished(arn)).status).toBe('SUCCEEDED');
    expect(passing.calls.filter((c) => c.fn === 'casebook-check-refunds')).toHaveLength(2);
    await server?.close();

    const broken = fakeFunctions();
    broken.checkFailures = ['bug'];
    const second = await boot(broken);
    const failed = await second.start({ incidentId: 'INC-2026-0002' }, 'INC-2026-0002');
    await second.settle('contain');
    await second.settle('understand');
    const done = await second.finished(failed);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe(ERROR_NAMES.lifecycleFailed);
    expect(broken.steps()).toEqual(['Detect', 'invite', 'Contain', 'Understand', 'halt:failed']);
    expect(broken.calls.some((c) => c.fn === 'casebook-request-approval')).toBe(false);
  }, 30_000);

  it('with no approval round left, the execution fails, named so', async () => {
    const fake = fakeFunctions();
    fake.roundsLeft = 0;
    const { start, finished, settle, sendBack } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await settle('contain');
    await settle('understand');
    await sendBack('Rejected: no');
    const done = await finished(arn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe(ERROR_NAMES.roundsExhausted);
    expect(fake.steps().slice(-2)).toEqual(['plan-rejected', 'halt:rounds-exhausted']);
  });

  it('an approval round past its deadline is escalated and waits on: one wait again, nobody asked twice', async () => {
    const fake = fakeFunctions();
    fake.waitSeconds = { decide: 1 };
    const { start, finished, settle, approveAll } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await settle('contain');
    await settle('understand');
    await waitFor(
      'the round to time out and be waited on again',
      async () => (fake.watched('decide') >= 2 ? true : undefined),
      10_000,
    );
    fake.waitSeconds = {};
    const decideHolds = () =>
      fake.calls.filter((c) => c.fn === 'casebook-hold-for-people' && c.payload.step === 'decide');
    // The wait entered after the clock said an hour: its token, not one of a wait that timed out.
    await waitFor(
      'the round waited on with an hour to go',
      async () => {
        const watched = fake.watched('decide');
        return watched >= 3 && decideHolds().length === watched ? true : undefined;
      },
      10_000,
    );
    await approveAll();
    await settle('learn');
    expect((await finished(arn)).status).toBe('SUCCEEDED');
    expect(fake.calls.filter((c) => c.fn === 'casebook-request-approval')).toHaveLength(1);
    const holds = decideHolds();
    expect(holds.length).toBeGreaterThanOrEqual(3);
    expect(new Set(holds.map((c) => c.payload.taskToken)).size).toBe(holds.length);
    expect(fake.steps().filter((s) => s === 'Decide')).toHaveLength(1);
  }, 20_000);

  it('a moved deadline during the round enters its one wait again, and a cancel ends the execution from it', async () => {
    const fake = fakeFunctions();
    const { sfn, start, finished, settle } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await settle('contain');
    await settle('understand');
    const first = await waitFor('the round wait', async () => fake.waits.get('decide'));
    fake.waits.delete('decide');
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: first, error: ERROR_NAMES.deadlineMoved, cause: 'SEV1 now' }),
    );
    const second = await waitFor('the round waited on again', async () => fake.waits.get('decide'));
    expect(second).not.toBe(first);
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: second, error: ERROR_NAMES.cancelled, cause: 'false alarm' }),
    );
    expect((await finished(arn)).status).toBe('SUCCEEDED');
    expect(fake.calls.filter((c) => c.fn === 'casebook-request-approval')).toHaveLength(1);
    expect(fake.steps().at(-1)).toBe('Decide');
  });

  it('runs Act again while it has more, gives the provider time, and retries a passing failure', async () => {
    const fake = fakeFunctions();
    fake.actFailures = 1;
    fake.actOutcomes = ['more', 'waiting-provider'];
    const { start, finished, history, settle, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await workToAct();
    await settle('learn');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    // The retried failure, then more, then waiting for the provider, then done.
    expect(fake.calls.filter((c) => c.fn === 'casebook-carry-out-effects')).toHaveLength(4);
    const waited = (await history(arn)).filter(
      (e) => e.stateEnteredEventDetails?.name === 'Give the payment provider time',
    );
    // After each run that did not finish: at once after `more`, the provider's time after `waiting-provider`.
    expect(waited).toHaveLength(2);
    // Act's own loop and the provider's wait read the clock too: a deadline passing meanwhile is escalated.
    expect(fake.watched('act')).toBe(2);
    expect(
      fake.calls
        .filter((c) => c.fn === 'casebook-watch-deadlines' && c.payload.step === 'act')
        .map((c) => c.payload),
    ).toEqual([
      { incidentId: 'INC-2026-0001', step: 'act', atMostSeconds: 0 },
      { incidentId: 'INC-2026-0001', step: 'act', atMostSeconds: 1 },
    ]);
  }, 20_000);

  it('waits for people while effects need them, reading the clock at each deadline, and goes on when they are settled', async () => {
    const fake = fakeFunctions();
    fake.actOutcomes = ['waiting-people'];
    fake.waitSeconds = { act: 1 };
    const { start, finished, settle, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await workToAct();
    await waitFor('the clock read again after the wait timed out', async () =>
      fake.watched('act') >= 2 ? true : undefined,
    );
    await withAnHourToGo(fake, 'act');
    await settle('act');
    await settle('learn');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(EVERY_STEP);
  }, 20_000);

  it('a failed anchor is tried again, and one that keeps failing is escalated before the execution closes', async () => {
    const fake = fakeFunctions();
    fake.anchorFailures = 10;
    const { start, finished, settle, workToAct } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    await workToAct();
    await settle('learn');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.calls.filter((c) => c.fn === 'casebook-anchor-ledger').length).toBeGreaterThan(1);
    const escalated = fake.calls.filter((c) => c.payload.kind === 'anchor-failed');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]?.payload).toMatchObject({
      incidentId: 'INC-2026-0001',
      execution: 'INC-2026-0001',
      failure: { Error: 'AccessDenied' },
    });
  }, 20_000);

  it('a step that fails records the failure and ends the execution as failed, keeping the phase', async () => {
    const fake = fakeFunctions();
    fake.failOnPhase = 'Contain';
    const { start, finished } = await boot(fake);
    const done = await finished(await start({ incidentId: 'INC-2026-0001' }));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe(ERROR_NAMES.lifecycleFailed);
    // Contain was tried once (a plain error is not a passing one, so no retry), then the halt recorded it.
    expect(fake.steps()).toEqual(['Detect', 'invite', 'Contain', 'halt:failed']);
    expect(fake.calls.find((c) => c.payload.kind === 'halt')?.payload.failure).toMatchObject({
      Error: 'Error',
    });
  });

  it('an execution started again continues from the recorded phase', async () => {
    const fake = fakeFunctions();
    const { start, finished, settle } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001', resumeFrom: 'Act' }, 'INC-2026-0001-r2');
    await settle('learn');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['Act', 'Learn', 'close']);
    expect(
      fake.calls
        .filter((c) => c.fn === 'casebook-record-phase')
        .every((c) => c.payload.execution === 'INC-2026-0001-r2'),
    ).toBe(true);
  });

  it('refuses to load the definition with a substitution missing, naming it', () => {
    const all = functionSubstitutions(localFunctionArn);
    const { RequestApprovalFunctionArn: _, ...withoutOne } = all;
    expect(() => loadDefinition(ROOT, withoutOne)).toThrow(
      /No substitution for RequestApprovalFunctionArn in/,
    );
  });
});
