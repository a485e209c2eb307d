/**
 * The metrics Casebook publishes (CloudWatch EMF, `functions/adapters/observability.ts`), named
 * once for the functions that publish them and the dashboard and alarms that read them.
 * Plain data: no CDK and no AWS SDK imports.
 */

/** The CloudWatch namespace every Casebook metric is published in; the dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'Casebook';

/**
 * Every metric Casebook publishes, with the dimensions each is published under. A metric is found
 * in CloudWatch only by its exact dimension set, so the alarms' totals are published without
 * dimensions beside the broken-down ones.
 */
export const METRIC = {
  /** An alert or declaration opened a new incident; by `source`, `world`, `severity`, and a total. */
  incidentsOpened: 'IncidentsOpened',
  /** A signal folded into an incident already open; by `source`, and a total. */
  signalsFolded: 'SignalsFolded',
  /** From the incident's opening to the first person acting on it, in seconds. */
  timeToAcknowledge: 'TimeToAcknowledgeSeconds',
  /** From an approval round's opening to one approver's decision, in seconds; by `role`. */
  approvalLatency: 'ApprovalLatencySeconds',
  /** An effect reached a state (done, failed, in question…); by `kind` and `state`. */
  effects: 'Effects',
  /** A customer notice SES accepted: the denominator of the bounce and complaint rates. */
  noticesSent: 'NoticesSent',
  /** SES's delivery events for customer notices, one metric each, without dimensions. */
  noticesDelivered: 'NoticesDelivered',
  noticesBounced: 'NoticesBounced',
  noticesComplained: 'NoticesComplained',
  /** Questions about effects still unanswered in an incident, each time Act's wait reads the clock. */
  questionsOpen: 'EffectQuestionsOpen',
  /** Of those, how many are past the answers' deadline. */
  questionsOverdue: 'EffectQuestionsOverdue',
  /** One run of Act, in milliseconds. */
  actDuration: 'ActDurationMs',
  /** One anchor run that ended with every head anchored (an anchor written, or nothing new). */
  anchorRuns: 'AnchorRuns',
  /** How old the anchor holding the current heads was when a run ended, in seconds. */
  anchorAge: 'AnchorAgeSeconds',
  /** An invocation that threw, or answered 5xx; by `function` (`casebook-<catalog name>`). */
  functionErrors: 'FunctionErrors',
} as const;

/** The `function` dimension of {@link METRIC.functionErrors}: the name the catalog's function runs under. */
export function functionDimension(catalogName: string): string {
  return `casebook-${catalogName}`;
}
