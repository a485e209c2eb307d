/**
 * Every bound Casebook puts on what callers send, in one place: the handlers enforce them, the
 * README's API section states them, and a test checks that an incident with every field at its
 * bound still fits in one DynamoDB item (400 KB) with room to spare.
 *
 * Text bounds count UTF-8 bytes, as DynamoDB does. A text field over its bound is stored cut
 * at a character boundary and ending in {@link TRUNCATION_MARKER}, with the SHA-256 and size of
 * the whole value kept beside it; names, identifiers and counts over their bounds are refused
 * with a 400 naming the field, because a cut identifier would mean something else.
 */
export const LIMITS = {
  /** A request body, in bytes (API Gateway itself takes up to 10 MB). */
  bodyBytes: 1024 * 1024,
  /**
   * What Lambda takes in one synchronous invocation, in bytes: the whole event API Gateway sends,
   * headers included, and a body that is not text base64-encoded (a third larger). API Gateway
   * answers 413 past it; the local gateway does the same.
   */
  lambdaPayloadBytes: 6 * 1024 * 1024,
  /**
   * A customer list upload (the CSV, or the request carrying it), in bytes. Sent from the
   * workroom's form it is multipart, base64-encoded into the event: 4 MB becomes about 5.3 MB,
   * leaving room below {@link LIMITS.lambdaPayloadBytes} for the form's and the browser's headers.
   */
  customerListBytes: 4 * 1024 * 1024,
  /** How many customers that is, as the workroom says: rows of up to about 140 bytes. */
  customerListRowsAbout: 30_000,
  /** Room for a multipart form's own lines around the CSV file it carries, in bytes. */
  formEnvelopeBytes: 16 * 1024,

  /** An incident's title (the alert's `summary`, else its `alertname`). */
  titleBytes: 512,
  /** Each annotation value, including `description` and `customer_summary`. */
  annotationValueBytes: 4096,
  /** Annotations kept per notification (the group's common annotations). */
  annotations: 24,
  /** Each label value. */
  labelValueBytes: 512,
  /** Labels per notification (group and common labels together). */
  labels: 64,
  /** A label or annotation name; longer names are refused. */
  nameBytes: 128,
  /** A URL the source links to (Alertmanager's `externalURL`). */
  urlBytes: 2048,
  /** An alert's fingerprint; longer ones are refused. */
  fingerprintBytes: 128,
  /** Alert fingerprints recorded in the Detect ledger entry (the count is always recorded). */
  fingerprintsRecorded: 100,
  /** Alert occurrences a correlation key remembers (to fold repeats of a closed incident). */
  occurrencesKept: 1000,
  /** Distinct customer addresses one notification may name; more are refused. */
  customerContacts: 100,
  /** One e-mail address (RFC 5321's path limit). */
  emailAddressBytes: 254,

  /** A declaration's CS ticket: its id or its link; longer ones are refused. */
  csTicketIdBytes: 512,
  /** The IAM principal (a user or role ARN) recorded with a declaration. */
  principalBytes: 400,

  /** Digits of an incident's sequence number: `INC-2026-0001` to `INC-2026-999999999`. */
  incidentSequenceDigits: 9,
  /** Approval rounds per incident (the round in a link is 1 to 9999, written without leading zeros). */
  approvalRounds: 9999,
  /** A listing cursor, in characters. */
  cursorChars: 512,
  /** `?limit=` on GET /incidents: a decimal integer in this range. */
  pageSize: { min: 1, max: 200, default: 50 },
  /**
   * Effect Ledger entries in one case response (`GET /incidents/{id}`, `?ledgerLimit=`): at
   * 10,000 customers a ledger holds tens of thousands of entries, past Lambda's 6 MB response.
   */
  ledgerPageSize: { min: 1, max: 2000, default: 500 },

  /** An approver's name on the roster (the approval policy), in characters. */
  deciderNameChars: 200,
  /** The approver's comment on the decision form, in characters. */
  decisionCommentChars: 4000,
  /** The basis an approver cites on the decision form (a ToS clause, a regulation), in characters. */
  decisionBasisChars: 500,
  /** The client's user agent recorded with a decision, in characters (longer ones are cut). */
  userAgentChars: 512,
} as const;

/** Ends every value Casebook cut to its bound, so a reader sees that it is not whole. */
export const TRUNCATION_MARKER = '…[truncated]';
