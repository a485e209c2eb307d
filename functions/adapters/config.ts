/**
 * Configuration, parsed once per cold start with zod. Resource names have no defaults: a function
 * deployed without one fails at init, naming every missing variable, not on its third request.
 */
import { z } from 'zod';
import type { ApproverRole } from '../domain/vocabulary.ts';
import { ENV } from '../env-names.ts';
import type { WebhookTokenSource } from './webhook-token.ts';

const required = z.string({ error: 'is required' }).trim().min(1, 'is required');
const email = z.email({ error: 'must be an email address' });

export const operationsTableConfig = z
  .object({ [ENV.operationsTable]: required })
  .transform((env) => ({ operationsTable: env[ENV.operationsTable] }));

export const ledgerTableConfig = z
  .object({ [ENV.ledgerTable]: required })
  .transform((env) => ({ ledgerTable: env[ENV.ledgerTable] }));

export const payloadBucketConfig = z
  .object({ [ENV.payloadBucket]: required })
  .transform((env) => ({ payloadBucket: env[ENV.payloadBucket] }));

export const stateMachineConfig = z
  .object({ [ENV.stateMachineArn]: required })
  .transform((env) => ({ stateMachineArn: env[ENV.stateMachineArn] }));

export const mailFromConfig = z
  .object({ [ENV.mailFrom]: email })
  .transform((env) => ({ mailFrom: env[ENV.mailFrom] }));

export const approversConfig = z
  .object({
    [ENV.approverLegal]: email,
    [ENV.approverBusiness]: email,
    [ENV.approverSre]: email,
    [ENV.publicBaseUrl]: z.url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL'),
  })
  .transform((env) => ({
    approvers: {
      legal: env[ENV.approverLegal],
      business: env[ENV.approverBusiness],
      sre: env[ENV.approverSre],
    } satisfies Record<ApproverRole, string>,
    publicBaseUrl: env[ENV.publicBaseUrl].replace(/\/+$/, ''),
  }));

/** The Alertmanager bearer token comes from the environment locally and from Secrets Manager on AWS. */
export const webhookTokenConfig = z
  .object({
    [ENV.alertmanagerToken]: z.string().min(16, 'must be at least 16 characters').optional(),
    [ENV.alertmanagerTokenSecretArn]: z.string().min(1).optional(),
  })
  .refine((env) => Boolean(env[ENV.alertmanagerToken]) !== Boolean(env[ENV.alertmanagerTokenSecretArn]), {
    message: `set exactly one of ${ENV.alertmanagerToken} (local) and ${ENV.alertmanagerTokenSecretArn} (AWS)`,
    path: [ENV.alertmanagerToken],
  })
  .transform((env): { webhookToken: WebhookTokenSource } => {
    const value = env[ENV.alertmanagerToken];
    return {
      webhookToken: value
        ? { kind: 'value', value }
        : { kind: 'secret', secretId: env[ENV.alertmanagerTokenSecretArn] as string },
    };
  });

type Merge<T extends readonly z.ZodType[]> = T extends readonly [
  infer H extends z.ZodType,
  ...infer R extends z.ZodType[],
]
  ? z.output<H> & Merge<R>
  : unknown;

/**
 * Parses the environment with every schema given and merges their outputs, or throws one error
 * naming every variable that is missing or wrong.
 */
export function loadConfig<const T extends readonly z.ZodType[]>(
  schemas: T,
  env: NodeJS.ProcessEnv = process.env,
): Merge<T> {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {};
  for (const schema of schemas) {
    const parsed = schema.safeParse(env);
    if (parsed.success) Object.assign(merged, parsed.data);
    else
      problems.push(...parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'} ${i.message}`));
  }
  if (problems.length > 0) throw new Error(`Casebook configuration is invalid: ${problems.join('; ')}`);
  return merged as Merge<T>;
}
