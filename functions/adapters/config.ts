/**
 * Configuration, parsed once per cold start with zod. Resource names have no defaults: a function
 * deployed without one fails at init, naming every missing variable, not on its third request.
 */
import * as z from 'zod';
import type { DeadlinePolicy } from '../domain/deadlines.ts';
import { DEFAULT_DEADLINE_POLICY } from '../domain/deadlines.ts';
import { emailAddress as email } from '../domain/email-address.ts';
import { SEVERITIES } from '../domain/vocabulary.ts';
import { ENV } from '../env-names.ts';
import type { SecretSource } from './secret-source.ts';

// Each schema is built at its first parse (z.lazy): zod builds a schema eagerly and copies it at every
// step of a chain, so building all of them cost every cold start tens of milliseconds, for the few
// its function reads. Marked pure, so a bundle leaves out the ones its function never reads.
const required = () => z.string({ error: 'is required' }).trim().min(1, 'is required');
const httpUrl = () => z.url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL');

export const operationsTableConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.operationsTable]: required() })
    .transform((env) => ({ operationsTable: env[ENV.operationsTable] })),
);

/** Where the key that seals ledger entries is: a KMS key on AWS, a key file locally. */
export type LedgerKeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'kms'; readonly keyId: string };

/** Where the key that signs tree heads is: an asymmetric KMS key on AWS, a PEM file locally. */
export type HeadSignerSource = LedgerKeySource;

export const ledgerTableConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.ledgerTable]: required(),
      [ENV.ledgerKeyFile]: z.string().min(1).optional(),
      [ENV.ledgerKmsKeyId]: z.string().min(1).optional(),
      [ENV.ledgerSigningKeyFile]: z.string().min(1).optional(),
      [ENV.ledgerSigningKmsKeyId]: z.string().min(1).optional(),
    })
    .refine((env) => Boolean(env[ENV.ledgerKeyFile]) !== Boolean(env[ENV.ledgerKmsKeyId]), {
      message: `set exactly one of ${ENV.ledgerKeyFile} (local) and ${ENV.ledgerKmsKeyId} (AWS)`,
      path: [ENV.ledgerKmsKeyId],
    })
    .refine((env) => !(env[ENV.ledgerSigningKeyFile] && env[ENV.ledgerSigningKmsKeyId]), {
      message: `set at most one of ${ENV.ledgerSigningKeyFile} (local) and ${ENV.ledgerSigningKmsKeyId} (AWS)`,
      path: [ENV.ledgerSigningKmsKeyId],
    })
    .transform((env) => {
      const source = (file: string | undefined, keyId: string | undefined): LedgerKeySource | undefined =>
        file ? { kind: 'file', path: file } : keyId ? { kind: 'kms', keyId } : undefined;
      const ledgerKey = source(env[ENV.ledgerKeyFile], env[ENV.ledgerKmsKeyId]) as LedgerKeySource;
      const headSigner: HeadSignerSource | undefined = source(
        env[ENV.ledgerSigningKeyFile],
        env[ENV.ledgerSigningKmsKeyId],
      );
      return { ledgerTable: env[ENV.ledgerTable], ledgerKey, ...(headSigner ? { headSigner } : {}) };
    }),
);

/** The head signing key alone, for a function that signs but neither seals nor appends (the close). */
export const headSignerConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.ledgerSigningKeyFile]: z.string().min(1).optional(),
      [ENV.ledgerSigningKmsKeyId]: z.string().min(1).optional(),
    })
    .refine((env) => Boolean(env[ENV.ledgerSigningKeyFile]) !== Boolean(env[ENV.ledgerSigningKmsKeyId]), {
      message: `set exactly one of ${ENV.ledgerSigningKeyFile} (local) and ${ENV.ledgerSigningKmsKeyId} (AWS)`,
      path: [ENV.ledgerSigningKmsKeyId],
    })
    .transform((env): { headSigner: HeadSignerSource } => {
      const file = env[ENV.ledgerSigningKeyFile];
      return {
        headSigner: file
          ? { kind: 'file', path: file }
          : { kind: 'kms', keyId: env[ENV.ledgerSigningKmsKeyId] as string },
      };
    }),
);

export const payloadBucketConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.payloadBucket]: required() })
    .transform((env) => ({ payloadBucket: env[ENV.payloadBucket] })),
);

/** The ledger table's name alone, for a function that only reads it and checks no seal. */
export const ledgerTableNameConfig = /* @__PURE__ */ z.lazy(() =>
  z.object({ [ENV.ledgerTable]: required() }).transform((env) => ({ ledgerTable: env[ENV.ledgerTable] })),
);

export const exportBucketConfig = /* @__PURE__ */ z.lazy(() =>
  z.object({ [ENV.exportBucket]: required() }).transform((env) => ({ exportBucket: env[ENV.exportBucket] })),
);

export const stateMachineConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.stateMachineArn]: required() })
    .transform((env) => ({ stateMachineArn: env[ENV.stateMachineArn] })),
);

export const mailFromConfig = /* @__PURE__ */ z.lazy(() =>
  z.object({ [ENV.mailFrom]: email }).transform((env) => ({ mailFrom: env[ENV.mailFrom] })),
);

/** The SES configuration set notices are sent under (on AWS; locally there is none, and a poller stands in). */
export const sesConfigurationSetConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.sesConfigurationSet]: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES configuration set name')
        .optional(),
    })
    .transform((env) => ({ sesConfigurationSet: env[ENV.sesConfigurationSet] })),
);

/** JSON text in an environment variable, parsed; anything else is an issue on that variable. */
export const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
});

export const anchorBucketConfig = /* @__PURE__ */ z.lazy(() =>
  z.object({ [ENV.anchorBucket]: required() }).transform((env) => ({ anchorBucket: env[ENV.anchorBucket] })),
);

/** The base URL of the public API, where the links in e-mails point. */
export const publicBaseUrlConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.publicBaseUrl]: httpUrl() })
    .transform((env) => ({ publicBaseUrl: env[ENV.publicBaseUrl].replace(/\/+$/, '') })),
);

/**
 * The same, for a function the API routes to: on AWS it cannot carry the API's URL (a dependency
 * cycle) and builds links from the domain API Gateway answered on; locally it is given.
 */
export const optionalPublicBaseUrlConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.publicBaseUrl]: httpUrl().optional() })
    .transform((env) => ({ publicBaseUrl: env[ENV.publicBaseUrl]?.replace(/\/+$/, '') })),
);

/** Locally, where the SES emulator keeps what it sent; on AWS nothing. */
export const sesStoreConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({ [ENV.sesStoreUrl]: httpUrl().optional() })
    .transform((env) => ({ sesStoreUrl: env[ENV.sesStoreUrl] })),
);

/** A secret given locally as the value itself, on AWS as the Secrets Manager secret that holds it. */
function secretSourceOf(value: string | undefined, secretArn: string | undefined): SecretSource {
  return value ? { kind: 'value', value } : { kind: 'secret', secretId: secretArn as string };
}

/** The schema of a secret that must come from exactly one of `valueVar` (local) and `arnVar` (AWS). */
function secretConfig<K extends string>(key: K, valueVar: string, arnVar: string, value: () => z.ZodString) {
  return /* @__PURE__ */ z.lazy(() =>
    z
      .object({ [valueVar]: value().optional(), [arnVar]: z.string().min(1).optional() })
      .refine((env) => Boolean(env[valueVar]) !== Boolean(env[arnVar]), {
        message: `set exactly one of ${valueVar} (local) and ${arnVar} (AWS)`,
        path: [valueVar],
      })
      .transform(
        (env) => ({ [key]: secretSourceOf(env[valueVar], env[arnVar]) }) as { [P in K]: SecretSource },
      ),
  );
}

/** The Alertmanager bearer token comes from the environment locally and from Secrets Manager on AWS. */
export const webhookTokenConfig = /* @__PURE__ */ secretConfig(
  'webhookToken',
  ENV.alertmanagerToken,
  ENV.alertmanagerTokenSecretArn,
  () => z.string().min(16, 'must be at least 16 characters'),
);

/** Which variables hold each webhook signing secret: the value locally, the secret's ARN on AWS. */
export const SIGNING_SECRET_ENV = {
  grafana: { value: ENV.grafanaSecret, arn: ENV.grafanaSecretArn },
  pagerduty: { value: ENV.pagerdutySecret, arn: ENV.pagerdutySecretArn },
  generic: { value: ENV.genericSecret, arn: ENV.genericSecretArn },
} as const;

/**
 * The signing secrets of Grafana's, PagerDuty's and the generic webhook, each set one way or the
 * other; every problem is named under its variable.
 */
export const signingSecretsConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object(
      Object.fromEntries(
        Object.values(SIGNING_SECRET_ENV).flatMap(({ value, arn }) => [
          [value, z.string().min(16, 'must be at least 16 characters').optional()],
          [arn, z.string().min(1).optional()],
        ]),
      ) as Record<string, z.ZodOptional<z.ZodString>>,
    )
    .superRefine((env, ctx) => {
      for (const { value, arn } of Object.values(SIGNING_SECRET_ENV)) {
        if (Boolean(env[value]) === Boolean(env[arn])) {
          ctx.addIssue({
            code: 'custom',
            path: [value],
            message: `set exactly one of ${value} (local) and ${arn} (AWS)`,
          });
        }
      }
    })
    .transform((env) => ({
      signingSecrets: Object.fromEntries(
        Object.entries(SIGNING_SECRET_ENV).map(([name, { value, arn }]) => [
          name,
          secretSourceOf(env[value], env[arn]),
        ]),
      ) as Record<keyof typeof SIGNING_SECRET_ENV, SecretSource>,
    })),
);

/** The key customers' pseudonyms are made with (a keyed HMAC): stable, secret, and never rotated casually. */
export const pseudonymKeyConfig = /* @__PURE__ */ secretConfig(
  'pseudonymKey',
  ENV.pseudonymKey,
  ENV.pseudonymKeySecretArn,
  () => z.string().min(32, 'must be at least 32 characters'),
);

/** Who works incidents: the responders (questions about effects go to them) and the SRE lead (escalations). */
export const respondersConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.responders]: z
        .string({ error: 'is required' })
        .transform((v) =>
          v
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean),
        )
        .pipe(z.array(email).min(1, 'must name at least one responder')),
      [ENV.sreLead]: email,
    })
    .transform((env) => ({ responders: env[ENV.responders], sreLead: env[ENV.sreLead] })),
);

const minutes = z.number().positive('must be a positive number of minutes');
const targetOverride = z
  .object({ response: minutes, resolution: minutes, postmortem: minutes, decision: minutes })
  .partial()
  .strict();

/** The deadline policy: Casebook's defaults, with what `CASEBOOK_DEADLINES` overrides. */
export const deadlineConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.deadlines]: jsonText
        .pipe(
          z
            .object({
              ...Object.fromEntries(SEVERITIES.map((s) => [s, targetOverride.optional()])),
              regulatory: minutes.optional(),
              decision: minutes.optional(),
              escalation: minutes.optional(),
              answers: minutes.optional(),
              checkFloorSeconds: z.number().positive().optional(),
              checkCeilingSeconds: z.number().positive().optional(),
            })
            .strict()
            .refine(
              (o) =>
                (o.checkFloorSeconds ?? DEFAULT_DEADLINE_POLICY.floorSeconds) <=
                (o.checkCeilingSeconds ?? DEFAULT_DEADLINE_POLICY.ceilingSeconds),
              {
                message: 'checkFloorSeconds must not exceed checkCeilingSeconds',
                path: ['checkCeilingSeconds'],
              },
            ),
        )
        .optional(),
    })
    .transform((env) => {
      const o = (env[ENV.deadlines] ?? {}) as Record<string, unknown> & {
        regulatory?: number;
        decision?: number;
        escalation?: number;
        answers?: number;
        checkFloorSeconds?: number;
        checkCeilingSeconds?: number;
      };
      const base = DEFAULT_DEADLINE_POLICY;
      const targets = Object.fromEntries(
        SEVERITIES.map((severity) => {
          const given = (o[severity] ?? {}) as z.output<typeof targetOverride>;
          const target = (name: keyof typeof given) => {
            const value = given[name];
            return value === undefined ? base.targets[severity][name] : { minutes: value };
          };
          return [
            severity,
            {
              response: target('response'),
              resolution: target('resolution'),
              postmortem: target('postmortem'),
              decision: { minutes: given.decision ?? base.targets[severity].decision.minutes },
            },
          ];
        }),
      ) as DeadlinePolicy['targets'];
      const policy: DeadlinePolicy = {
        targets,
        regulatoryMinutes: o.regulatory ?? base.regulatoryMinutes,
        ...(o.decision === undefined ? {} : { decisionMinutes: o.decision }),
        escalationMinutes: o.escalation ?? base.escalationMinutes,
        answersMinutes: o.answers ?? base.answersMinutes,
        floorSeconds: o.checkFloorSeconds ?? base.floorSeconds,
        ceilingSeconds: o.checkCeilingSeconds ?? base.ceilingSeconds,
      };
      return { deadlines: policy };
    }),
);

/** How fast Act may call its providers (per second): SES's sending rate, the payments API's limit. */
export const actRatesConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.mailRatePerSecond]: z.coerce.number().positive('must be a positive number'),
      [ENV.paymentsRatePerSecond]: z.coerce.number().positive('must be a positive number'),
    })
    .transform((env) => ({
      rates: { mail: env[ENV.mailRatePerSecond], payments: env[ENV.paymentsRatePerSecond] },
    })),
);

/** Who carries out refunds and credits, and how Casebook reaches Stripe when it is Stripe. */
export type PaymentsConfig =
  | { readonly provider: 'manual' }
  | {
      readonly provider: 'stripe';
      /** The secret key: from the environment locally, from Secrets Manager on AWS. */
      readonly apiKey: SecretSource;
      /** Set only to reach something other than api.stripe.com (the local stand-in). */
      readonly apiBase?: string;
    };

export const paymentsConfig = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      [ENV.paymentsProvider]: z.enum(['stripe', 'manual'], { error: "must be 'stripe' or 'manual'" }),
      [ENV.stripeApiKey]: z
        .string()
        .regex(/^(sk|rk)_(test|live)_\S+$/, 'must be a Stripe secret key (sk_… or rk_…)')
        .optional(),
      [ENV.stripeApiKeySecretArn]: z.string().min(1).optional(),
      [ENV.stripeApiBase]: httpUrl().optional(),
    })
    .refine(
      (env) =>
        env[ENV.paymentsProvider] !== 'stripe' ||
        Boolean(env[ENV.stripeApiKey]) !== Boolean(env[ENV.stripeApiKeySecretArn]),
      {
        message: `set exactly one of ${ENV.stripeApiKey} (local) and ${ENV.stripeApiKeySecretArn} (AWS) when the provider is stripe`,
        path: [ENV.stripeApiKey],
      },
    )
    .transform((env): { payments: PaymentsConfig } => {
      if (env[ENV.paymentsProvider] === 'manual') return { payments: { provider: 'manual' } };
      const key = env[ENV.stripeApiKey];
      const apiBase = env[ENV.stripeApiBase];
      return {
        payments: {
          provider: 'stripe',
          apiKey: secretSourceOf(key, env[ENV.stripeApiKeySecretArn]),
          ...(apiBase ? { apiBase } : {}),
        },
      };
    }),
);

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
    // Parsed once per cold start: compiling zod's fast path for a schema read once costs more than it saves.
    const parsed = schema.safeParse(env, { jitless: true });
    if (parsed.success) Object.assign(merged, parsed.data);
    else
      problems.push(...parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'} ${i.message}`));
  }
  if (problems.length > 0) throw new Error(`Casebook configuration is invalid: ${problems.join('; ')}`);
  return merged as Merge<T>;
}
