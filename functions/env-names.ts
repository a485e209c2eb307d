/**
 * Names of the environment variables Casebook's functions are configured with, shared by the
 * CDK app, the local stack and the config parsers (`functions/config.ts`).
 */

export const ENV = {
  operationsTable: 'CASEBOOK_OPERATIONS_TABLE',
  ledgerTable: 'CASEBOOK_LEDGER_TABLE',
  /** Bucket that keeps whole alert payloads whose values had to be cut. */
  payloadBucket: 'CASEBOOK_PAYLOAD_BUCKET',
  stateMachineArn: 'CASEBOOK_STATE_MACHINE_ARN',
  publicBaseUrl: 'CASEBOOK_PUBLIC_BASE_URL',
  mailFrom: 'CASEBOOK_MAIL_FROM',
  approverLegal: 'CASEBOOK_APPROVER_LEGAL',
  approverBusiness: 'CASEBOOK_APPROVER_BUSINESS',
  approverSre: 'CASEBOOK_APPROVER_SRE',
  /** Locally: the webhook bearer token itself. */
  alertmanagerToken: 'CASEBOOK_ALERTMANAGER_TOKEN',
  /** On AWS: the Secrets Manager secret that holds the webhook bearer token. */
  alertmanagerTokenSecretArn: 'CASEBOOK_ALERTMANAGER_TOKEN_SECRET_ARN',
} as const;
