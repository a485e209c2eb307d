/**
 * The console's configuration, parsed once with zod: the OpenID Connect issuer and client, and
 * where the key that signs session cookies is (a file locally, a Secrets Manager secret on AWS).
 */
import * as z from 'zod';
import type { SecretSource } from '../adapters/secret-source.ts';
import { ENV } from '../env-names.ts';

const required = z.string({ error: 'is required' }).trim().min(1, 'is required');

export const oidcConfig = z
  .object({
    [ENV.oidcIssuerUrl]: z.url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL'),
    [ENV.oidcClientId]: required,
    [ENV.oidcClientSecret]: z.string().min(1).optional(),
    [ENV.oidcLogoutUrl]: z
      .url('must be an http(s) URL')
      .regex(/^https?:\/\//, 'must be an http(s) URL')
      .optional(),
  })
  .transform((env) => ({
    oidc: {
      issuer: env[ENV.oidcIssuerUrl],
      clientId: env[ENV.oidcClientId],
      ...(env[ENV.oidcClientSecret] ? { clientSecret: env[ENV.oidcClientSecret] } : {}),
      ...(env[ENV.oidcLogoutUrl] ? { logoutEndpoint: env[ENV.oidcLogoutUrl] } : {}),
    },
  }));

/** Where the session key is: exactly one of a local file and a Secrets Manager secret. */
export type SessionKeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'secret'; readonly source: SecretSource };

export const sessionKeyConfig = z
  .object({
    [ENV.sessionKeyFile]: z.string().min(1).optional(),
    [ENV.sessionKeySecretArn]: z.string().min(1).optional(),
  })
  .refine((env) => Boolean(env[ENV.sessionKeyFile]) !== Boolean(env[ENV.sessionKeySecretArn]), {
    message: `set exactly one of ${ENV.sessionKeyFile} (local) and ${ENV.sessionKeySecretArn} (AWS)`,
    path: [ENV.sessionKeyFile],
  })
  .transform((env) => {
    const file = env[ENV.sessionKeyFile];
    const sessionKey: SessionKeySource = file
      ? { kind: 'file', path: file }
      : { kind: 'secret', source: { kind: 'secret', secretId: env[ENV.sessionKeySecretArn] as string } };
    return { sessionKey };
  });
