/**
 * The lifecycle ASL executed as a file (the same one CDK deploys) on the local Step Functions
 * server, with stand-in functions that record what they were asked and answer as the real ones
 * would: named scenarios, asserted on what the functions saw and on the execution's status and
 * history.
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
import type { ActProgress } from '../../functions/domain/effects.ts';
import { CasebookError, ERROR_NAMES } from '../../functions/domain/errors.ts';
import { statusOnEntering } from '../../functions/domain/incident.ts';
import type { Phase, Status } from '../../functions/domain/vocabulary.ts';
import { escalateSchema } from '../../functions/escalate/escalate.ts';
import { holdForPeopleSchema } from '../../functions/hold-for-people/hold-for-people.ts';
import { lifecycleStepSchema } from '../../functions/record-phase/record-phase.ts';
import { requestApprovalSchema } from '../../functions/request-approval/request-approval.ts';
import type { AnchorResult } from '../../functions/use-cases/anchor-ledger.ts';
import type { LifecycleStepResult } from '../../functions/use-cases/record-lifecycle-step.ts';
import type { requestApproval } from '../../functions/use-cases/request-approval.ts';
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
  readonly tokens = new Map<string, string>();
  /** Payloads a real handler's schema refused: each test expects none. */
  readonly refused: string[] = [];
  /** What each run of Act answers, in turn; `done` once the list is used up. */
  actOutcomes: ActProgress['outcome'][] = [];
  actFailures = 0;
  failOnPhase: string | undefined;
  /** The task tokens of waits for people, by step. */
  readonly waits = new Map<string, string>();
  private status: Status = 'OPEN';
  private phase: Phase = 'Detect';

  invoke = async (nameOrArn: string, payload: unknown): Promise<unknown> => {
    const fn = nameOrArn.split(':').at(-1) ?? nameOrArn;
    this.calls.push({ fn, payload: payload as Record<string, unknown> });
    switch (fn) {
      case 'casebook-record-phase':
        return this.recordPhase(this.parse(fn, lifecycleStepSchema, payload));
      case 'casebook-request-approval': {
        const request = this.parse(fn, requestApprovalSchema, payload);
        this.tokens.set(request.role, request.taskToken);
        return { emailed: true } satisfies Awaited<ReturnType<typeof requestApproval>>;
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
      case 'casebook-hold-for-people': {
        const hold = this.parse(fn, holdForPeopleSchema, payload);
        this.waits.set(hold.step, hold.taskToken);
        return { settled: false };
      }
      case 'casebook-escalate':
        this.parse(fn, escalateSchema, payload);
        return { escalated: true };
      case 'casebook-anchor-ledger':
        this.parse(fn, anchorLedgerSchema, payload);
        return { key: 'anchors/x.json', chains: 1 } satisfies AnchorResult;
      default:
        throw Object.assign(new Error(`no function ${fn}`), { name: 'Lambda.ResourceNotFoundException' });
    }
  };

  private recordPhase(step: z.infer<typeof lifecycleStepSchema>): LifecycleStepResult {
    const incident = { incidentId: step.incidentId };
    if (step.kind === 'close') {
      this.status = 'CLOSED';
      return { ...incident, status: this.status, phase: this.phase };
    }
    if (step.kind === 'halt') return { ...incident, status: this.status, phase: this.phase };
    if (step.phase === this.failOnPhase) throw new Error(`boom in ${step.phase}`);
    this.status = statusOnEntering(step.phase, this.status);
    this.phase = step.phase;
    return {
      ...incident,
      status: this.status,
      phase: this.phase,
      ...(step.phase === 'Decide' ? { round: 1 } : {}),
    };
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
}

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
  const approvals = () =>
    waitFor('three approval tasks', async () => (fake.tokens.size === 3 ? fake.tokens : undefined));
  return { sfn, start, finished, history, approvals };
}

describe('incident-lifecycle.asl.json', () => {
  it('happy path: six phases, three approvals, Act once, the ledger anchored, closed', async () => {
    const fake = fakeFunctions();
    const { sfn, start, finished, history, approvals } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    for (const token of (await approvals()).values()) {
      await sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ decision: 'approve' }) }),
      );
    }
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['Detect', 'Contain', 'Understand', 'Decide', 'Act', 'Learn', 'close']);
    const requests = fake.calls.filter((c) => c.fn === 'casebook-request-approval').map((c) => c.payload);
    expect(requests.map((r) => r.role).sort()).toEqual(['business', 'legal', 'sre']);
    expect(requests.every((r) => r.round === 1 && r.incidentId === 'INC-2026-0001')).toBe(true);
    // Act is handed the incident, nothing else: no effect and no customer travels in the state.
    expect(fake.calls.filter((c) => c.fn === 'casebook-carry-out-effects').map((c) => c.payload)).toEqual([
      { incidentId: 'INC-2026-0001' },
    ]);
    expect(fake.calls.find((c) => c.fn === 'casebook-anchor-ledger')?.payload).toEqual({
      reason: 'closed INC-2026-0001',
    });
    // Every step knows which execution it belongs to (idempotency per execution).
    expect(
      fake.calls
        .filter((c) => c.fn === 'casebook-record-phase')
        .every((c) => c.payload.execution === 'INC-2026-0001'),
    ).toBe(true);
    const entered = (await history(arn))
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(
      expect.arrayContaining(['Detect', 'Contain', 'Understand', 'Decide', 'Act', 'Learn', 'Closed']),
    );
  });

  it('a rejection stops the round: the other approvals are cancelled and the incident is recorded as waiting', async () => {
    const fake = fakeFunctions();
    const { sfn, start, finished, approvals } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    const tokens = await approvals();
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: tokens.get('legal'),
        error: ERROR_NAMES.planRejected,
        cause: 'Legal rejected plan v1: the ToS requires a refund',
      }),
    );
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['Detect', 'Contain', 'Understand', 'Decide', 'halt:plan-rejected']);
    const halt = fake.calls.find((c) => c.payload.kind === 'halt')?.payload;
    expect(halt?.failure).toMatchObject({ Error: ERROR_NAMES.planRejected });
    expect(JSON.stringify(halt?.failure)).toContain('requires a refund');
    expect(fake.calls.some((c) => c.fn === 'casebook-carry-out-effects')).toBe(false);
    // The sibling approvals can no longer resume anything.
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: tokens.get('business'), output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('approvals that are not decided within TimeoutSeconds stop the round', async () => {
    const fake = fakeFunctions();
    const { start, finished } = await boot(fake, (definition) => {
      // The real timeout is a week; the same states with one second.
      const parallel = (
        definition.States as Record<
          string,
          { Branches: { States: Record<string, { TimeoutSeconds: number }> }[] }
        >
      )['Ask Legal, Business and SRE to approve the plan'];
      for (const branch of parallel?.Branches ?? [])
        for (const state of Object.values(branch.States)) state.TimeoutSeconds = 1;
    });
    const arn = await start({ incidentId: 'INC-2026-0001' });
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps().at(-1)).toBe('halt:approvals-timed-out');
    expect(fake.calls.find((c) => c.payload.kind === 'halt')?.payload.failure).toMatchObject({
      Error: 'States.Timeout',
    });
  });

  it('runs Act again while it has more, gives the provider time, and retries a passing failure', async () => {
    const fake = fakeFunctions();
    fake.actFailures = 1;
    fake.actOutcomes = ['more', 'waiting-provider'];
    const { sfn, start, finished, approvals, history } = await boot(fake);
    const arn = await start({ incidentId: 'INC-2026-0001' });
    for (const token of (await approvals()).values()) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    }
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    // The retried failure, then more, then waiting for the provider, then done.
    expect(fake.calls.filter((c) => c.fn === 'casebook-carry-out-effects')).toHaveLength(4);
    const waited = (await history(arn)).filter(
      (e) => e.stateEnteredEventDetails?.name === 'Give the payment provider time',
    );
    expect(waited).toHaveLength(1);
  }, 20_000);

  it('waits for people while effects need them, escalates at the deadline, and goes on when they are settled', async () => {
    const fake = fakeFunctions();
    fake.actOutcomes = ['waiting-people'];
    const { sfn, start, finished, approvals } = await boot(fake, (definition) => {
      // The real deadline is four hours; the same states with one second.
      const states = definition.States as Record<string, { TimeoutSeconds: number }>;
      const wait = states['Wait for people to settle the effects Act could not'];
      if (wait) wait.TimeoutSeconds = 1;
    });
    const arn = await start({ incidentId: 'INC-2026-0001' });
    for (const token of (await approvals()).values()) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    }
    await waitFor('an escalation and a second wait', async () =>
      fake.calls.some((c) => c.fn === 'casebook-escalate') &&
      fake.calls.filter((c) => c.fn === 'casebook-hold-for-people').length >= 2
        ? true
        : undefined,
    );
    const escalation = fake.calls.find((c) => c.fn === 'casebook-escalate')?.payload;
    expect(escalation).toEqual({ incidentId: 'INC-2026-0001', step: 'act' });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: fake.waits.get('act'), output: '{}' }));
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(fake.steps()).toEqual(['Detect', 'Contain', 'Understand', 'Decide', 'Act', 'Learn', 'close']);
  }, 20_000);

  it('a step that fails records the failure and ends the execution as failed, keeping the phase', async () => {
    const fake = fakeFunctions();
    fake.failOnPhase = 'Contain';
    const { start, finished } = await boot(fake);
    const done = await finished(await start({ incidentId: 'INC-2026-0001' }));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe(ERROR_NAMES.lifecycleFailed);
    // Contain was tried once (a plain error is not a passing one, so no retry), then the halt recorded it.
    expect(fake.steps()).toEqual(['Detect', 'Contain', 'halt:failed']);
    expect(fake.calls.find((c) => c.payload.kind === 'halt')?.payload.failure).toMatchObject({
      Error: 'Error',
    });
  });

  it('an execution started again continues from the recorded phase', async () => {
    const fake = fakeFunctions();
    const { start, finished } = await boot(fake);
    const done = await finished(
      await start({ incidentId: 'INC-2026-0001', resumeFrom: 'Act' }, 'INC-2026-0001-r2'),
    );
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
