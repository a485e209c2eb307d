/**
 * The Lambda functions Casebook deploys, named once so the CDK app, the local stack and the
 * tests agree on which handler module backs which function and which ASL substitution.
 * Plain data: no CDK and no AWS SDK imports.
 */

/** What a function needs bound to it; the CDK app grants exactly this and no more. */
export interface FunctionNeeds {
  /** Operational table (incidents, correlation keys, approvals, timeline). */
  readonly operations: 'RO' | 'RW';
  /** Ledger table: 'APPEND' may read and append, never update or delete. */
  readonly ledger?: 'RO' | 'APPEND';
  /** `states:StartExecution` on the incident lifecycle state machine. */
  readonly startExecution?: boolean;
  /** `states:SendTaskSuccess` / `SendTaskFailure` / `SendTaskHeartbeat`. */
  readonly taskResponse?: boolean;
  /** `ses:SendEmail`. */
  readonly sendEmail?: boolean;
  /** Puts whole alert payloads (`s3:PutObject`) into the payload bucket; never reads them. */
  readonly payloadArchive?: boolean;
  /** Reads the webhook bearer-token secret. */
  readonly webhookSecret?: boolean;
  /** Builds links to the public API (approval pages, questions about effects). */
  readonly publicBaseUrl?: boolean;
  /** Refunds and credits through the configured payments provider (Stripe's key, Act's rates). */
  readonly payments?: boolean;
  /** Knows the responders and the SRE lead (invitations, questions, escalations) and the deadline targets. */
  readonly people?: boolean;
  /**
   * The approval policy and the approvers' addresses: the approval round asks them (the backups
   * at its deadline); Legal watches the regulatory clock.
   */
  readonly approvalPolicy?: boolean;
  /** Triages alerts by the classification policy (`casebook:alertPolicy`), when one is configured. */
  readonly alertPolicy?: boolean;
  /** Makes customers' pseudonyms (the pseudonym key). */
  readonly pseudonyms?: boolean;
  /** Writes signed anchors of the changed incident heads (the anchor bucket; signing with the ledger signing key). */
  readonly anchors?: boolean;
  /** Signs people in to the console: the OpenID Connect issuer and client, and the session key secret. */
  readonly signIn?: boolean;
  /** Writes ledger exports for finance under `ledger/v1/` in the exports bucket (multipart uploads). */
  readonly exports?: boolean;
  /**
   * Closes months: signs each close with the ledger signing key and puts it under `closes/` in the
   * anchor bucket (no other function may put there), on a daily schedule and when the CLI invokes it.
   */
  readonly closes?: boolean;
}

/** One Lambda function of Casebook. */
export interface FunctionSpec {
  /** Short kebab-case name; locally the function is `casebook-<name>`. */
  readonly name: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** The `${…}` name under which the ASL refers to this function's ARN, if it does. */
  readonly substitution?: string;
  readonly needs: FunctionNeeds;
  /** Seconds; the ASL's task TimeoutSeconds are derived from these ({@link taskTimeoutSeconds}). */
  readonly timeoutSeconds: number;
}

/**
 * How much longer the state machine gives a task than its function's own timeout: the
 * invocation's own time (a cold start among it), so a run is never cut off by the state machine
 * while the function still works — and then started again beside it by a retry.
 */
export const TASK_TIMEOUT_MARGIN_SECONDS = 15;

/** The ASL's TimeoutSeconds for a task that invokes `spec`: worked out here only, so they cannot drift. */
export function taskTimeoutSeconds(spec: Pick<FunctionSpec, 'timeoutSeconds'>): number {
  return spec.timeoutSeconds + TASK_TIMEOUT_MARGIN_SECONDS;
}

export const FUNCTIONS = {
  ingestAlert: {
    name: 'ingest-alert',
    entry: 'functions/ingest-alert/handler.ts',
    description: 'POST /webhooks/{source}: verify, normalize, open or fold an incident, start its lifecycle',
    needs: {
      operations: 'RW',
      ledger: 'APPEND',
      startExecution: true,
      webhookSecret: true,
      payloadArchive: true,
      alertPolicy: true,
    },
    timeoutSeconds: 15,
  },
  declareIncident: {
    name: 'declare-incident',
    entry: 'functions/declare-incident/handler.ts',
    description:
      'POST /incidents: customer support or sales declares an incident from a complaint; it opens like an alert and starts its lifecycle',
    needs: { operations: 'RW', ledger: 'APPEND', startExecution: true, alertPolicy: true },
    timeoutSeconds: 15,
  },
  recordPhase: {
    name: 'record-phase',
    entry: 'functions/record-phase/handler.ts',
    description:
      'Lifecycle steps: enter a phase, invite the responders and the SRE lead, record a rejected plan, close, halt',
    substitution: 'RecordPhaseFunctionArn',
    needs: { operations: 'RW', sendEmail: true, publicBaseUrl: true, people: true },
    timeoutSeconds: 30,
  },
  requestApproval: {
    name: 'request-approval',
    entry: 'functions/request-approval/handler.ts',
    description:
      'Decide: opens the approval round under the approval policy (who by size and severity, quorum, vetoes) and e-mails each approver a link',
    substitution: 'RequestApprovalFunctionArn',
    needs: { operations: 'RW', ledger: 'APPEND', sendEmail: true, publicBaseUrl: true, approvalPolicy: true },
    timeoutSeconds: 30,
  },
  approvalsPage: {
    name: 'approvals-page',
    entry: 'functions/approvals-page/handler.ts',
    description:
      'GET/HEAD/POST /approvals/{approvalId}: shows the case, records a decision, weighs the round by its rule and answers its wait once',
    needs: { operations: 'RW', ledger: 'APPEND', taskResponse: true, people: true },
    timeoutSeconds: 15,
  },
  carryOutEffects: {
    name: 'carry-out-effects',
    entry: 'functions/carry-out-effects/handler.ts',
    description:
      'Act: carries out the approved effects (refunds, credits, notices) exactly once each, recording each on the ledger',
    substitution: 'CarryOutEffectsFunctionArn',
    needs: {
      operations: 'RW',
      ledger: 'APPEND',
      sendEmail: true,
      publicBaseUrl: true,
      payments: true,
      people: true,
    },
    timeoutSeconds: 900,
  },
  checkRefunds: {
    name: 'check-refunds',
    entry: 'functions/check-refunds/handler.ts',
    description:
      'After a plan is submitted, before any approver is asked: checks each refund against the payments provider, at the payments rate; what it would refuse goes back to the responders as a request for changes',
    substitution: 'CheckRefundsFunctionArn',
    needs: { operations: 'RW', ledger: 'APPEND', payments: true },
    // 10,000 payments at Stripe's 25 calls a second take about 400 s.
    timeoutSeconds: 900,
  },
  holdForPeople: {
    name: 'hold-for-people',
    entry: 'functions/hold-for-people/handler.ts',
    description: 'A wait for people: keeps the task token server-side until what it waits for is settled',
    substitution: 'HoldForPeopleFunctionArn',
    needs: { operations: 'RW', taskResponse: true },
    timeoutSeconds: 15,
  },
  watchDeadlines: {
    name: 'watch-deadlines',
    entry: 'functions/watch-deadlines/handler.ts',
    description:
      "Before and between waits for people: reminds an approval round's approvers at half its deadline and asks the backups at the deadline; escalates missed deadlines to the SRE lead and the responders (and Legal, the regulatory clock); answers how long to wait",
    substitution: 'WatchDeadlinesFunctionArn',
    needs: { operations: 'RW', sendEmail: true, publicBaseUrl: true, people: true, approvalPolicy: true },
    timeoutSeconds: 15,
  },
  workroom: {
    name: 'workroom',
    entry: 'functions/workroom/handler.ts',
    description:
      'GET/HEAD /work/{linkId} and POST /work/{linkId}/{action}: a person works the incident (contain, impact, customers, plan, postmortem…)',
    needs: {
      operations: 'RW',
      ledger: 'APPEND',
      taskResponse: true,
      pseudonyms: true,
      people: true,
      // A link the SRE lead reissues is e-mailed to its person.
      sendEmail: true,
    },
    timeoutSeconds: 29,
  },
  effectQuestionsPage: {
    name: 'effect-questions-page',
    entry: 'functions/effect-questions-page/handler.ts',
    description:
      'GET/HEAD/POST /effects/{questionId}: a question about an effect, and the answer a person records (a bounced notice sent to another address from the customer list)',
    needs: {
      operations: 'RW',
      ledger: 'APPEND',
      taskResponse: true,
      sendEmail: true,
      people: true,
    },
    timeoutSeconds: 15,
  },
  anchorLedger: {
    name: 'anchor-ledger',
    entry: 'functions/anchor-ledger/handler.ts',
    description:
      'Writes a signed anchor of the incident heads changed since the last one to the anchor bucket (on close and on a schedule)',
    substitution: 'AnchorLedgerFunctionArn',
    needs: { operations: 'RO', ledger: 'APPEND', anchors: true },
    timeoutSeconds: 300,
  },
  exportLedger: {
    name: 'export-ledger',
    entry: 'functions/export-ledger/handler.ts',
    description:
      'Exports the Effect Ledger for finance (ledger/v1 Parquet, one object per month of recording) to the exports bucket: daily for the open month, and on demand ({"period": "YYYY-MM", "to": "YYYY-MM"})',
    needs: { operations: 'RO', ledger: 'RO', exports: true },
    timeoutSeconds: 900,
  },
  closePeriod: {
    name: 'close-period',
    entry: 'functions/close-period/handler.ts',
    description:
      'Closes a month for good (its totals, chain heads and rates, signed, under closes/ in the anchor bucket): daily for last month once its lag has passed, and on demand from the CLI ({"period": "YYYY-MM"})',
    needs: { operations: 'RW', ledger: 'RO', closes: true },
    timeoutSeconds: 900,
  },
  incidentsApi: {
    name: 'incidents-api',
    entry: 'functions/incidents-api/handler.ts',
    description:
      'GET /incidents, GET /incidents/{incidentId} (the case as JSON) and its case file (seed 000 YAML)',
    needs: { operations: 'RO', ledger: 'RO', people: true },
    timeoutSeconds: 10,
  },
  recordLedgerEntry: {
    name: 'record-ledger-entry',
    entry: 'functions/record-ledger-entry/handler.ts',
    description:
      'POST /incidents/{incidentId}/ledger: a manual operation, a cost, or money moved outside Casebook, on the Effect Ledger',
    needs: { operations: 'RO', ledger: 'APPEND', pseudonyms: true },
    timeoutSeconds: 15,
  },
  console: {
    name: 'console',
    entry: 'functions/console/handler.ts',
    description:
      'GET / and /console/…: the incident console and read-only case pages for people signed in with OpenID Connect (/auth/…)',
    needs: { operations: 'RO', ledger: 'RO', signIn: true },
    timeoutSeconds: 15,
  },
  sesEvents: {
    name: 'ses-events',
    entry: 'functions/ses-events/handler.ts',
    description:
      "SES's events about notices (delivered, bounced, complained, rejected, delayed), from the queue: each on the Effect Ledger against its notice; a bounced or rejected one asked about",
    needs: { operations: 'RW', ledger: 'APPEND', sendEmail: true, publicBaseUrl: true, people: true },
    timeoutSeconds: 60,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionKey = keyof typeof FUNCTIONS;

/** The lifecycle state machine, as both CDK and the local stack name and load it. */
export const STATE_MACHINE = {
  name: 'incident-lifecycle',
  definitionFile: 'statemachines/incident-lifecycle.asl.json',
} as const;
