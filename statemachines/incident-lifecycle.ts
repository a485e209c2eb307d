/**
 * The incident lifecycle state machine, written as the shapes it repeats — a Lambda step, the
 * entry into a phase, a wait for people with its deadline and escalation, an approval branch, a
 * halt — each once. `npm run asl` writes `incident-lifecycle.asl.json` from it, the one file CDK
 * deploys and the local stack runs; a test fails when the committed file differs from this.
 *
 * JSONPath only, no JSONata and no Assign (the local engine runs neither); every function ARN is a
 * `${…}` substitution named in `functions/catalog.ts`.
 */
import { ERROR_NAMES } from '../functions/domain/errors.ts';
import type { ApproverRole, Phase } from '../functions/domain/vocabulary.ts';
import { APPROVER_ROLES, PHASES, ROLE_LABEL } from '../functions/domain/vocabulary.ts';

type State = Record<string, unknown>;
type Substitution =
  | 'RecordPhaseFunctionArn'
  | 'RequestApprovalFunctionArn'
  | 'CarryOutEffectsFunctionArn'
  | 'HoldForPeopleFunctionArn'
  | 'EscalateFunctionArn'
  | 'AnchorLedgerFunctionArn';

const FAILED = 'Record the failure';

/** Lambda's transient faults, and Casebook's own "a dependency is down", retried with jitter. */
const RETRY = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 1,
    MaxAttempts: 3,
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
  readonly timeoutSeconds?: number;
  readonly resultSelector?: Record<string, string>;
  readonly resultPath?: string | null;
  /** Where a failure goes; `false`: nowhere (the halt steps themselves). */
  readonly onFailure?: string | false;
  readonly waitForTaskToken?: boolean;
  readonly catches?: readonly Record<string, unknown>[];
}

function lambda(step: LambdaStep): State {
  const onFailure = step.onFailure ?? FAILED;
  return {
    Type: 'Task',
    Comment: step.comment,
    Resource: `arn:aws:states:::lambda:invoke${step.waitForTaskToken ? '.waitForTaskToken' : ''}`,
    Parameters: { FunctionName: `\${${step.fn}}`, Payload: step.payload },
    TimeoutSeconds: step.timeoutSeconds ?? 30,
    Retry: RETRY,
    ...(step.resultSelector ? { ResultSelector: step.resultSelector } : {}),
    ResultPath: step.resultPath === undefined ? null : step.resultPath,
    ...(step.catches || onFailure
      ? { Catch: [...(step.catches ?? []), ...(onFailure ? [catchTo(onFailure)] : [])] }
      : {}),
    ...(step.next ? { Next: step.next } : { End: true }),
  };
}

const incident = { 'incidentId.$': '$.incidentId' };
const execution = { 'execution.$': '$$.Execution.Name' };

/** Entering a phase: recorded by record-phase (status, timeline, what the phase needs). */
function enterPhase(phase: Phase, comment: string, next: string, extra: Partial<LambdaStep> = {}): State {
  return lambda({
    comment,
    fn: 'RecordPhaseFunctionArn',
    payload: { ...incident, kind: 'enter-phase', phase, ...execution },
    next,
    ...extra,
  });
}

/** A halt: the incident records why and keeps its phase; a new execution continues from it. */
function halt(
  reason: 'plan-rejected' | 'approvals-timed-out' | 'failed',
  comment: string,
  next: string,
): State {
  return lambda({
    comment,
    fn: 'RecordPhaseFunctionArn',
    payload: { ...incident, kind: 'halt', reason, 'failure.$': '$.failure', ...execution },
    next,
    onFailure: false,
  });
}

/**
 * A wait for people: the task token is kept server-side by hold-for-people; the wait ends when
 * what it waits for is settled. At the deadline the SRE lead is told, and the wait begins again —
 * it never passes by itself and never stalls in silence.
 */
function waitForPeople(options: {
  name: string;
  step: string;
  comment: string;
  deadlineSeconds: number;
  next: string;
}): Record<string, State> {
  const escalation = `Escalate: ${options.name.charAt(0).toLowerCase()}${options.name.slice(1)} took too long`;
  return {
    [options.name]: lambda({
      comment: options.comment,
      fn: 'HoldForPeopleFunctionArn',
      payload: { ...incident, step: options.step, 'taskToken.$': '$$.Task.Token' },
      waitForTaskToken: true,
      timeoutSeconds: options.deadlineSeconds,
      catches: [catchTo(escalation, ['States.Timeout'])],
      next: options.next,
    }),
    [escalation]: lambda({
      comment: 'The deadline passed: the SRE lead and the responders are told, then the wait goes on.',
      fn: 'EscalateFunctionArn',
      payload: { ...incident, step: options.step },
      next: options.name,
    }),
  };
}

/** One approver's branch of the round: e-mailed a link; the token stays server-side. */
function askToApprove(role: ApproverRole): State {
  const name = `Ask ${ROLE_LABEL[role]} to approve the plan`;
  const task = lambda({
    comment: `Emails the ${ROLE_LABEL[role]} approver a link to the case; waits for their decision. The task token stays server-side.`,
    fn: 'RequestApprovalFunctionArn',
    payload: { 'taskToken.$': '$$.Task.Token', ...incident, 'round.$': '$.decide.round', role },
    waitForTaskToken: true,
    timeoutSeconds: 604_800,
    onFailure: false,
  });
  delete task.ResultPath;
  return { StartAt: name, States: { [name]: task } };
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

/** The whole lifecycle, as ASL. */
export function incidentLifecycle(): State {
  const roles = APPROVER_ROLES.map((r) => ROLE_LABEL[r]);
  const round = `Ask ${roles.slice(0, -1).join(', ')} and ${roles.at(-1)} to approve the plan`;
  return {
    Comment:
      'Casebook incident lifecycle (seed 000): Detect, Contain, Understand, Decide, Act, Learn, then close. Input: {incidentId, resumeFrom?}. Every phase reads and records its state in the operational table, so an execution can be started again from the recorded phase. Generated by statemachines/incident-lifecycle.ts.',
    StartAt: 'Pick up at the recorded phase',
    States: {
      'Pick up at the recorded phase': pickUp(),
      Detect: enterPhase(
        'Detect',
        'RML2: the alert crossed into the History World; the incident is open.',
        'Contain',
      ),
      Contain: enterPhase(
        'Contain',
        'RML2: stop further history from being written (kill switch, feature flag).',
        'Understand',
      ),
      Understand: enterPhase(
        'Understand',
        'RML3: one timeline, the residue already written as history, and a proposed remediation plan.',
        'Decide',
      ),
      Decide: enterPhase('Decide', 'RML3: the triangle decides; opens a new approval round.', round, {
        resultSelector: { 'round.$': '$.Payload.round' },
        resultPath: '$.decide',
      }),
      [round]: {
        Type: 'Parallel',
        Comment:
          'Seed 001 RACI: the remediation policy is Accountable to Legal and Business, Consulted with SRE. Every approver must approve; one rejection stops the round.',
        Branches: APPROVER_ROLES.map(askToApprove),
        ResultPath: '$.approvals',
        Catch: [
          catchTo('Record that the plan was rejected', [ERROR_NAMES.planRejected]),
          catchTo('Record that the approvals timed out', ['States.Timeout']),
          catchTo(FAILED),
        ],
        Next: 'Act',
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
        timeoutSeconds: 960,
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
          { Variable: '$.act.outcome', StringEquals: 'more', Next: CARRY_OUT },
          {
            Variable: '$.act.outcome',
            StringEquals: 'waiting-provider',
            Next: 'Give the payment provider time',
          },
        ],
        Default: 'Wait for people to settle the effects Act could not',
      },
      'Give the payment provider time': {
        Type: 'Wait',
        Comment:
          'Refunds still pending, or a provider that did not answer: look again later, with the same keys.',
        SecondsPath: '$.act.retryAfterSeconds',
        Next: CARRY_OUT,
      },
      ...waitForPeople({
        name: 'Wait for people to settle the effects Act could not',
        step: 'act',
        comment:
          'Effects in doubt, refused by the provider, or to be done by hand: the responders were asked by e-mail; the other effects went on meanwhile.',
        deadlineSeconds: 14_400,
        next: CARRY_OUT,
      }),
      Learn: enterPhase(
        'Learn',
        'RML2: the postmortem turns history into technical, process and governance lessons.',
        'Close the incident',
      ),
      'Close the incident': lambda({
        comment: 'The incident is closed; its records stay.',
        fn: 'RecordPhaseFunctionArn',
        payload: { ...incident, kind: 'close', ...execution },
        next: 'Anchor the ledger',
      }),
      'Anchor the ledger': lambda({
        comment:
          'A sealed digest of every chain head goes where no table writer reaches, so the closed case cannot be cut short unseen. The schedule anchors too, so a failure here only delays it.',
        fn: 'AnchorLedgerFunctionArn',
        payload: { 'reason.$': "States.Format('closed {}', $.incidentId)" },
        onFailure: 'Closed',
        next: 'Closed',
      }),
      Closed: { Type: 'Succeed' },
      'Record that the plan was rejected': halt(
        'plan-rejected',
        'The rejection and its reason are in the Decision Log; the incident waits in Decide for a revised plan.',
        'Stopped: plan rejected',
      ),
      'Stopped: plan rejected': { Type: 'Succeed' },
      'Record that the approvals timed out': halt(
        'approvals-timed-out',
        'Not every approver decided in time; the incident stays in Decide.',
        'Stopped: approvals timed out',
      ),
      'Stopped: approvals timed out': { Type: 'Succeed' },
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
