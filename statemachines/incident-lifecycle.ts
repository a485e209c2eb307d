/**
 * The incident lifecycle state machine, written as the shapes it repeats — a Lambda step, the
 * entry into a phase, a wait for people with its deadline and escalation, a halt — each once. `npm run asl` writes `incident-lifecycle.asl.json` from it, the one file CDK
 * deploys and the local stack runs; a test fails when the committed file differs from this.
 *
 * JSONPath only, no JSONata and no Assign (the local engine runs neither); every function ARN is a
 * `${…}` substitution named in `functions/catalog.ts`.
 */
import type { FunctionSpec } from '../functions/catalog.ts';
import { FUNCTIONS, taskTimeoutSeconds } from '../functions/catalog.ts';
import { ERROR_NAMES } from '../functions/domain/errors.ts';
import type { Phase } from '../functions/domain/vocabulary.ts';
import { PHASES } from '../functions/domain/vocabulary.ts';
import type { WaitStep } from '../functions/domain/waits.ts';
import { clockState, PROVIDER_CLOCK_STATE, WAITS } from '../functions/domain/waits.ts';

type State = Record<string, unknown>;
type Substitution =
  | 'RecordPhaseFunctionArn'
  | 'RequestApprovalFunctionArn'
  | 'CarryOutEffectsFunctionArn'
  | 'CheckRefundsFunctionArn'
  | 'HoldForPeopleFunctionArn'
  | 'WatchDeadlinesFunctionArn'
  | 'AnchorLedgerFunctionArn';

const FAILED = 'Record the failure';
const CANCELLED = 'Cancelled by the SRE lead';

/** Lambda's transient faults, and Casebook's own "a dependency is down", retried with jitter. */
const RETRY = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    // Lambda throttles and service errors come in bursts, and several of a step's invocations may
    // meet one; ten tries with backoff, never more than 20 s apart, ride out about two minutes of
    // them before an incident halts (a halted incident waits for an operator).
    IntervalSeconds: 1,
    MaxAttempts: 10,
    MaxDelaySeconds: 20,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: [ERROR_NAMES.dependencyUnavailable],
    IntervalSeconds: 2,
    MaxAttempts: 4,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
];

const catchTo = (next: string, errors: readonly string[] = ['States.ALL']) => ({
  ErrorEquals: [...errors],
  ResultPath: '$.failure',
  Next: next,
});

interface LambdaStep {
  readonly comment: string;
  readonly fn: Substitution;
  readonly payload: Record<string, unknown>;
  readonly next?: string;
  /** Where the task's timeout is read from (set by the clock-reading step before a wait). */
  readonly timeoutSecondsPath?: string;
  readonly resultSelector?: Record<string, string>;
  readonly resultPath?: string | null;
  /** Where a failure goes; `false`: nowhere (the halt steps themselves). */
  readonly onFailure?: string | false;
  readonly waitForTaskToken?: boolean;
  readonly catches?: readonly Record<string, unknown>[];
  /** Retries any failure too (a step safe to repeat whatever went wrong), after the usual retries. */
  readonly retryAny?: boolean;
}

/** The catalog's function behind a substitution: its Lambda timeout sets the task's. */
function functionOf(fn: Substitution): FunctionSpec {
  const spec = Object.values(FUNCTIONS).find((f: FunctionSpec) => f.substitution === fn);
  if (!spec) throw new Error(`No function in the catalog for \${${fn}}`);
  return spec;
}

const RETRY_ANY = {
  ErrorEquals: ['States.ALL'],
  IntervalSeconds: 1,
  MaxAttempts: 2,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

function lambda(step: LambdaStep): State {
  const onFailure = step.onFailure ?? FAILED;
  return {
    Type: 'Task',
    Comment: step.comment,
    Resource: `arn:aws:states:::lambda:invoke${step.waitForTaskToken ? '.waitForTaskToken' : ''}`,
    Parameters: { FunctionName: `\${${step.fn}}`, Payload: step.payload },
    ...(step.timeoutSecondsPath
      ? { TimeoutSecondsPath: step.timeoutSecondsPath }
      : { TimeoutSeconds: taskTimeoutSeconds(functionOf(step.fn)) }),
    Retry: step.retryAny ? [...RETRY, RETRY_ANY] : RETRY,
    ...(step.resultSelector ? { ResultSelector: step.resultSelector } : {}),
    ResultPath: step.resultPath === undefined ? null : step.resultPath,
    // A cancelled incident ends its execution from whichever step finds out (in Succeed: a person decided).
    ...(onFailure
      ? {
          Catch: [...(step.catches ?? []), catchTo(CANCELLED, [ERROR_NAMES.cancelled]), catchTo(onFailure)],
        }
      : {}),
    ...(step.next ? { Next: step.next } : { End: true }),
  };
}

const incident = { 'incidentId.$': '$.incidentId' };
const execution = { 'execution.$': '$$.Execution.Name' };

/**
 * Entering a phase: recorded by record-phase (status, timeline, what the phase needs). The state's
 * entry time tells a retried step (same entry) from a new entry into the same phase.
 */
function enterPhase(phase: Phase, comment: string, next: string, extra: Partial<LambdaStep> = {}): State {
  return lambda({
    comment,
    fn: 'RecordPhaseFunctionArn',
    payload: { ...incident, kind: 'enter-phase', phase, ...execution, 'entered.$': '$$.State.EnteredTime' },
    next,
    ...extra,
  });
}

/** A halt: the incident records why and keeps its phase; a new execution continues from it. */
function halt(reason: 'rounds-exhausted' | 'failed', comment: string, next: string): State {
  return lambda({
    comment,
    fn: 'RecordPhaseFunctionArn',
    payload: { ...incident, kind: 'halt', reason, 'failure.$': '$.failure', ...execution },
    next,
    onFailure: false,
  });
}

/** Reads the incident's clock before a wait: escalates what is overdue, and says how long to wait. */
function watchTheClock(
  step: WaitStep,
  comment: string,
  next: string,
  extra: Record<string, unknown> = {},
): State {
  return lambda({
    comment,
    fn: 'WatchDeadlinesFunctionArn',
    payload: { ...incident, step, ...extra },
    resultSelector: { 'seconds.$': '$.Payload.seconds' },
    resultPath: '$.deadline',
    next,
  });
}

/** The errors that end a wait before its time and send it back to the clock. */
const WAIT_AGAIN = ['States.Timeout', ERROR_NAMES.deadlineMoved];

/**
 * A wait for people: the clock is read first (what is overdue is escalated; the wait lasts until
 * the next deadline), then the task token is kept server-side by hold-for-people until what the
 * wait is for is there. When its time runs out, or a person moves the deadlines (severity), the
 * clock is read again and the wait begins anew — it never passes by itself and never stalls in
 * silence.
 */
function waitForPeople(options: {
  step: WaitStep;
  comment: string;
  next: string;
  /** Where the wait's own named endings go (before a moved deadline, a cancel and a failure). */
  catches?: readonly Record<string, unknown>[];
}): Record<string, State> {
  const clock = clockState(options.step);
  const name = WAITS[options.step].state;
  return {
    [clock]: watchTheClock(
      options.step,
      'Escalates every deadline that passed unmet (once each) and answers how long the wait may last.',
      name,
    ),
    [name]: lambda({
      comment: options.comment,
      fn: 'HoldForPeopleFunctionArn',
      payload: { ...incident, step: options.step, 'taskToken.$': '$$.Task.Token' },
      waitForTaskToken: true,
      timeoutSecondsPath: '$.deadline.seconds',
      catches: [...(options.catches ?? []), catchTo(clock, WAIT_AGAIN)],
      next: options.next,
    }),
  };
}

/** Continues an existing incident from the phase it recorded (`resumeFrom`), or starts at Detect. */
function pickUp(): State {
  return {
    Type: 'Choice',
    Comment:
      'A new incident starts at Detect; an execution started again for an existing incident (resumeFrom) continues from its recorded phase.',
    Choices: PHASES.filter((p) => p !== 'Detect').map((phase) => ({
      And: [
        { Variable: '$.resumeFrom', IsPresent: true },
        { Variable: '$.resumeFrom', StringEquals: phase },
      ],
      Next: phase,
    })),
    Default: 'Detect',
  };
}

const CARRY_OUT = 'Carry out the approved effects';
const ANCHOR_FAILED = 'Escalate the failed anchor';
const PROVIDER_CLOCK = PROVIDER_CLOCK_STATE;
const CHECK_REFUNDS = 'Check the refunds with the payments provider';

/** The whole lifecycle, as ASL. */
export function incidentLifecycle(): State {
  const rejected = 'Record that the plan was rejected';
  const askApprovers = 'Ask the approvers the policy names';
  return {
    Comment:
      'Casebook incident lifecycle (seed 000): Detect, Contain, Understand, Decide, Act, Learn, then close. Input: {incidentId, resumeFrom?}. People do the work in every phase that needs them; each such phase waits for them, with deadlines and escalations. Every phase reads and records its state in the operational table, so an execution can be started again from the recorded phase. Generated by statemachines/incident-lifecycle.ts.',
    StartAt: 'Pick up at the recorded phase',
    States: {
      'Pick up at the recorded phase': pickUp(),
      Detect: enterPhase(
        'Detect',
        'RML2: the alert crossed into the History World; the incident is open.',
        'Invite the responders and the SRE lead',
      ),
      'Invite the responders and the SRE lead': lambda({
        comment: 'Each gets a personal link to the workroom by e-mail (once, however often this runs).',
        fn: 'RecordPhaseFunctionArn',
        payload: { ...incident, kind: 'invite', ...execution },
        next: 'Contain',
      }),
      Contain: enterPhase(
        'Contain',
        'RML2: stop further history from being written (kill switch, feature flag).',
        clockState('contain'),
      ),
      ...waitForPeople({
        step: 'contain',
        comment: 'Until a responder reports the incident contained (status MITIGATED).',
        next: 'Understand',
      }),
      Understand: enterPhase(
        'Understand',
        'RML3: the impact, the affected customers, the residue already written as history, and a remediation plan.',
        clockState('understand'),
      ),
      ...waitForPeople({
        step: 'understand',
        comment:
          'Until a responder submits a plan for approval (it needs the impact, and the customers when it reaches them).',
        next: CHECK_REFUNDS,
      }),
      [CHECK_REFUNDS]: lambda({
        comment:
          'Before any approver is asked: each refund against the payments provider, at the payments rate (the charge exists, its currency, what is left of it, 0 < amount <= 99,999,999 minor units; with the manual provider only what needs no provider). Recorded on the Decision Log and the timeline once per plan version; what the provider would refuse goes back to the responders as a request for changes naming each customer, and no approval round opens (none is counted).',
        fn: 'CheckRefundsFunctionArn',
        payload: incident,
        resultSelector: { 'outcome.$': '$.Payload.outcome' },
        resultPath: '$.check',
        next: 'Would the provider take every refund?',
      }),
      'Would the provider take every refund?': {
        Type: 'Choice',
        Comment: 'On to the approvers, or back to Understand for a revised plan.',
        Choices: [{ Variable: '$.check.outcome', StringEquals: 'passed', Next: 'Decide' }],
        Default: 'Understand',
      },
      Decide: enterPhase('Decide', 'RML3: the triangle decides; opens a new approval round.', askApprovers, {
        resultSelector: { 'round.$': '$.Payload.round' },
        resultPath: '$.decide',
      }),
      [askApprovers]: lambda({
        comment:
          "Seed 001 RACI, as the approval policy has it for the incident's size and severity: who is asked, the quorum, the vetoes. Records the round's rule and the policy version on the Decision Log and e-mails each approver a link once per round. No task token travels.",
        fn: 'RequestApprovalFunctionArn',
        payload: { ...incident, 'round.$': '$.decide.round' },
        next: clockState('decide'),
      }),
      ...waitForPeople({
        step: 'decide',
        comment:
          "One wait for the whole round: each decision is weighed against the round's rule as it comes, and the round is answered once — approved when the quorum is reached, Casebook.PlanRejected when a veto, rejections or a request for changes leave it out of reach. It times out at the round's moments, so the clock is read then: the undecided reminded at half its deadline, their backups asked at the deadline, the round escalated at the final timeout; it waits on after each, and a late decision still counts. The links find the current wait on the server.",
        catches: [catchTo(rejected, [ERROR_NAMES.planRejected])],
        next: 'Act',
      }),
      [rejected]: lambda({
        comment:
          'The round failed (vetoed, rejected, or changes requested): the reason is recorded, the pending requests are closed.',
        fn: 'RecordPhaseFunctionArn',
        payload: { ...incident, kind: 'plan-rejected', 'failure.$': '$.failure', ...execution },
        resultSelector: { 'roundsLeft.$': '$.Payload.roundsLeft' },
        resultPath: '$.rejected',
        next: 'Is an approval round left?',
      }),
      'Is an approval round left?': {
        Type: 'Choice',
        Comment: 'Back to Understand for a revised plan, while rounds are left.',
        Choices: [{ Variable: '$.rejected.roundsLeft', NumericGreaterThan: 0, Next: 'Understand' }],
        Default: 'Record that the approval rounds ran out',
      },
      'Record that the approval rounds ran out': halt(
        'rounds-exhausted',
        'Every round rejected the plan; the incident keeps its phase.',
        'Approval rounds exhausted',
      ),
      'Approval rounds exhausted': {
        Type: 'Fail',
        Error: ERROR_NAMES.roundsExhausted,
        Cause: 'Every approval round rejected the plan.',
      },
      Act: enterPhase(
        'Act',
        'RML3: remediation and communication are new history, added on top of the old.',
        CARRY_OUT,
      ),
      [CARRY_OUT]: lambda({
        comment:
          'Each effect exactly once (intent, executed, confirmed on the ledger, keyed by incident and effect), as far as one run goes; the state carries no effect and no customer, only the outcome.',
        fn: 'CarryOutEffectsFunctionArn',
        payload: incident,
        resultSelector: {
          'outcome.$': '$.Payload.outcome',
          'retryAfterSeconds.$': '$.Payload.retryAfterSeconds',
        },
        resultPath: '$.act',
        next: 'What is Act waiting for?',
      }),
      'What is Act waiting for?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.act.outcome', StringEquals: 'done', Next: 'Learn' },
          { Variable: '$.act.outcome', StringEquals: 'more', Next: PROVIDER_CLOCK },
          { Variable: '$.act.outcome', StringEquals: 'waiting-provider', Next: PROVIDER_CLOCK },
        ],
        Default: clockState('act'),
      },
      [PROVIDER_CLOCK]: watchTheClock(
        'act',
        "Act's own loop reads the clock too: a deadline that passes while Act runs again, or waits on the provider, is escalated then. The wait lasts until the provider is due a look (at once when Act has more), or the next deadline if that comes first.",
        'Give the payment provider time',
        { 'atMostSeconds.$': '$.act.retryAfterSeconds' },
      ),
      'Give the payment provider time': {
        Type: 'Wait',
        Comment:
          'Refunds still pending, or a provider that did not answer: look again later, with the same keys (at once when Act has more).',
        SecondsPath: '$.deadline.seconds',
        Next: CARRY_OUT,
      },
      ...waitForPeople({
        step: 'act',
        comment:
          'Effects in doubt, refused by the provider, or to be done by hand: the responders were asked by e-mail; the other effects went on meanwhile.',
        next: CARRY_OUT,
      }),
      Learn: enterPhase(
        'Learn',
        'RML2: the postmortem turns history into technical, process and governance lessons.',
        clockState('learn'),
      ),
      ...waitForPeople({
        step: 'learn',
        comment: 'Until a responder submits the postmortem (seed 003): submitting it closes the incident.',
        next: 'Close the incident',
      }),
      'Close the incident': lambda({
        comment: 'The incident is closed; its records stay.',
        fn: 'RecordPhaseFunctionArn',
        payload: { ...incident, kind: 'close', ...execution },
        next: 'Anchor the ledger',
      }),
      'Anchor the ledger': lambda({
        comment:
          'A signed anchor of the heads that changed goes where no table writer reaches, so the closed case cannot be cut short or rewritten unseen. Tried again on any failure; one that persists is escalated, not passed over.',
        fn: 'AnchorLedgerFunctionArn',
        payload: { 'reason.$': "States.Format('closed {}', $.incidentId)" },
        retryAny: true,
        onFailure: ANCHOR_FAILED,
        next: 'Closed',
      }),
      [ANCHOR_FAILED]: lambda({
        comment:
          'The SRE lead and the responders are told that the closed case is not anchored yet (the schedule anchors again), and the timeline says so.',
        fn: 'RecordPhaseFunctionArn',
        payload: { ...incident, kind: 'anchor-failed', 'failure.$': '$.failure', ...execution },
        next: 'Closed',
      }),
      Closed: { Type: 'Succeed' },
      [CANCELLED]: {
        Type: 'Succeed',
        Comment:
          'The SRE lead cancelled the incident (a false alarm, or downscoped to RML1/RML2): their decision and its reason are in the Decision Log.',
      },
      [FAILED]: halt(
        'failed',
        'The incident keeps its recorded phase so that a new execution can continue from it.',
        'Lifecycle failed',
      ),
      'Lifecycle failed': {
        Type: 'Fail',
        Error: ERROR_NAMES.lifecycleFailed,
        Cause: 'A lifecycle step failed; the incident records the phase to continue from.',
      },
    },
  };
}

/** The ASL file's text: what `npm run asl` writes and the test compares. */
export function incidentLifecycleJson(): string {
  return `${JSON.stringify(incidentLifecycle(), null, 2)}\n`;
}

if (import.meta.main) {
  const { writeFileSync } = await import('node:fs');
  const file = new URL('./incident-lifecycle.asl.json', import.meta.url);
  writeFileSync(file, incidentLifecycleJson());
  console.log(`Wrote ${file.pathname}`);
}
