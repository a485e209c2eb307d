/**
 * A notification a source sends that says nothing about whether trouble is there (a subscription's
 * test ping, a note added to an incident): answered 202 and not recorded, so the tool does not retry.
 */
export interface IgnoredNotification {
  readonly ignored: true;
  /** Why, in a sentence, for the response and the log. */
  readonly reason: string;
}

export function isIgnored(parsed: object): parsed is IgnoredNotification {
  return 'ignored' in parsed && parsed.ignored === true;
}
