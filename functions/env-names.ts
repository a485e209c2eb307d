/**
 * Names of the environment variables Casebook's functions are configured with, shared by the
 * CDK app, the local stack and the config parsers (`functions/adapters/config.ts`).
 */

export const ENV = {
  operationsTable: 'CASEBOOK_OPERATIONS_TABLE',
  ledgerTable: 'CASEBOOK_LEDGER_TABLE',
  /** Locally: the file of HMAC keys that seal ledger entries. */
  ledgerKeyFile: 'CASEBOOK_LEDGER_KEY_FILE',
  /** On AWS: the KMS HMAC key that seals ledger entries. */
  ledgerKmsKeyId: 'CASEBOOK_LEDGER_KMS_KEY_ID',
  /** Locally: the PEM file of the P-256 private key that signs tree heads (its public key beside it). */
  ledgerSigningKeyFile: 'CASEBOOK_LEDGER_SIGNING_KEY_FILE',
  /** On AWS: the asymmetric KMS key (ECC_NIST_P256) that signs tree heads. */
  ledgerSigningKmsKeyId: 'CASEBOOK_LEDGER_SIGNING_KMS_KEY_ID',
  /** The S3 bucket anchored digests of the chain heads go to. */
  anchorBucket: 'CASEBOOK_ANCHOR_BUCKET',
  /** The bucket ledger exports for finance go to (`ledger/v1/period=YYYY-MM/ledger.parquet`). */
  exportBucket: 'CASEBOOK_EXPORT_BUCKET',
  /** Bucket that keeps whole alert payloads whose values had to be cut. */
  payloadBucket: 'CASEBOOK_PAYLOAD_BUCKET',
  stateMachineArn: 'CASEBOOK_STATE_MACHINE_ARN',
  publicBaseUrl: 'CASEBOOK_PUBLIC_BASE_URL',
  mailFrom: 'CASEBOOK_MAIL_FROM',
  approverLegal: 'CASEBOOK_APPROVER_LEGAL',
  approverBusiness: 'CASEBOOK_APPROVER_BUSINESS',
  approverSre: 'CASEBOOK_APPROVER_SRE',
  /**
   * JSON: the approval policy — who approves by impact size and severity, the quorum, the vetoes,
   * and each role's primary and backup approver (`functions/domain/approval-policy.ts`). Optional:
   * without it seed 001's rules ask the three `CASEBOOK_APPROVER_*` addresses.
   */
  approvalPolicy: 'CASEBOOK_APPROVAL_POLICY',
  /**
   * JSON: the classification policy — which labels carry world, severity and categories, rules of
   * label matchers, each source's service names mapped to ours (`functions/domain/alert-policy.ts`).
   * Optional: without it alerts are triaged by the default policy.
   */
  alertPolicy: 'CASEBOOK_ALERT_POLICY',
  /** Locally: the webhook bearer token itself. */
  alertmanagerToken: 'CASEBOOK_ALERTMANAGER_TOKEN',
  /** On AWS: the Secrets Manager secret that holds the webhook bearer token. */
  alertmanagerTokenSecretArn: 'CASEBOOK_ALERTMANAGER_TOKEN_SECRET_ARN',
  /** Who carries out refunds and credits: `stripe`, or `manual` (a person, in the company's own system). */
  paymentsProvider: 'CASEBOOK_PAYMENTS_PROVIDER',
  /** Locally: the Stripe secret key itself (any `sk_test_…` for the stand-in). */
  stripeApiKey: 'CASEBOOK_STRIPE_API_KEY',
  /** On AWS: the Secrets Manager secret that holds the Stripe secret key. */
  stripeApiKeySecretArn: 'CASEBOOK_STRIPE_API_KEY_SECRET_ARN',
  /** Where Stripe's API is when it is not api.stripe.com: the local stand-in's URL. */
  stripeApiBase: 'CASEBOOK_STRIPE_API_BASE',
  /** Locally: the base64 key customers' pseudonyms are made with. */
  pseudonymKey: 'CASEBOOK_PSEUDONYM_KEY',
  /** On AWS: the Secrets Manager secret that holds the pseudonym key. */
  pseudonymKeySecretArn: 'CASEBOOK_PSEUDONYM_KEY_SECRET_ARN',
  /** Locally: where the SES emulator's store of sent mail is read (questions about notices in doubt). */
  sesStoreUrl: 'CASEBOOK_SES_STORE_URL',
  /** Comma-separated addresses of the responders. */
  responders: 'CASEBOOK_RESPONDERS',
  /** The SRE lead's address: escalations go there. */
  sreLead: 'CASEBOOK_SRE_LEAD',
  /**
   * JSON overriding deadline targets, in minutes: `{"SEV1": {"response": 15, "resolution": 120,
   * "postmortem": 2880}, "regulatory": 4320, "decision": 4320, "answers": 240,
   * "checkFloorSeconds": 60, "checkCeilingSeconds": 3600}`; any part may be left out. For drills
   * and tests that need short targets.
   */
  deadlines: 'CASEBOOK_DEADLINES',
  /**
   * JSON: each role's hourly rate, `{"SRE": {"amount": "120.00", "currency": "EUR"}}`
   * (`functions/domain/labour-rates.ts`); labour time is priced from it at report time. Optional.
   */
  labourRates: 'CASEBOOK_LABOUR_RATES',
  /** Messages per second Act may send through SES. */
  mailRatePerSecond: 'CASEBOOK_MAIL_RATE_PER_SECOND',
  /** Calls per second Act may make to the payments provider. */
  paymentsRatePerSecond: 'CASEBOOK_PAYMENTS_RATE_PER_SECOND',
  /** The OpenID Connect issuer the console signs people in with (its `iss`, exactly). */
  oidcIssuerUrl: 'CASEBOOK_OIDC_ISSUER_URL',
  /** The console's client id at that issuer. */
  oidcClientId: 'CASEBOOK_OIDC_CLIENT_ID',
  /** Optional: the client secret, for an issuer that registered the console as a confidential client. */
  oidcClientSecret: 'CASEBOOK_OIDC_CLIENT_SECRET',
  /**
   * Optional: the issuer's sign-out endpoint when its discovery document names none (a Cognito
   * user pool's hosted UI: `https://<domain>/logout`, called with `client_id` and `logout_uri`).
   */
  oidcLogoutUrl: 'CASEBOOK_OIDC_LOGOUT_URL',
  /** Locally: the file holding the key console session cookies are signed with (mode 600). */
  sessionKeyFile: 'CASEBOOK_SESSION_KEY_FILE',
  /** On AWS: the Secrets Manager secret that holds that key. */
  sessionKeySecretArn: 'CASEBOOK_SESSION_KEY_SECRET_ARN',
} as const;
