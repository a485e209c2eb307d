import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { z } from 'zod';
import { ENV } from '../../functions/env-names.ts';
import type { CasebookFunction } from './casebook-function.ts';

/** An OpenID Connect issuer the deployer already has (Okta, Entra ID, Google Workspace, a Cognito pool). */
export interface ConsoleIssuer {
  /** The issuer identifier, exactly as its ID tokens' `iss` says it. */
  readonly issuerUrl: string;
  /** The console's client id there: a public client with PKCE, redirect URI `<ApiUrl>/auth/callback`. */
  readonly clientId: string;
  /**
   * The issuer's sign-out endpoint, when its discovery document names no `end_session_endpoint`
   * (a Cognito pool's hosted UI: `https://<domain>/logout`, sign-out URL `<ApiUrl>/auth/logout`).
   */
  readonly logoutUrl?: string;
}

const issuerSchema = z
  .object({
    issuerUrl: z.url().regex(/^https:\/\//, 'must be an https URL'),
    clientId: z.string().trim().min(1, 'is required'),
    logoutUrl: z
      .url()
      .regex(/^https:\/\//, 'must be an https URL')
      .optional(),
  })
  .strict();

/**
 * The issuer from CDK context (`casebook:oidc`, JSON text or an object), or undefined when none
 * is configured; problems are returned, each naming the field.
 */
export function parseConsoleIssuer(
  raw: unknown,
  contextKey: string,
): { readonly issuer?: ConsoleIssuer; readonly problems: readonly string[] } {
  if (raw === undefined) return { problems: [] };
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problems: [`${contextKey} is not valid JSON`] };
    }
  }
  const parsed = issuerSchema.safeParse(value);
  return parsed.success
    ? { issuer: parsed.data, problems: [] }
    : { problems: parsed.error.issues.map((i) => `${contextKey}.${i.path.join('.')} ${i.message}`) };
}

export interface ConsoleSignInProps {
  /** The HTTP API's base URL (no trailing slash): the callback and sign-out pages are under it. */
  readonly apiUrl: string;
  /**
   * The issuer to sign people in with.
   * @default - a Cognito user pool created here, with an app client for the console
   */
  readonly issuer?: ConsoleIssuer;
  /**
   * The Cognito hosted sign-in domain prefix, when the pool is created here.
   * @default - `casebook-<account id>`
   */
  readonly domainPrefix?: string;
}

/**
 * How people sign in to the console: the OpenID Connect issuer and client (a Cognito user pool the
 * stack creates when the deployer configures none), and the secret key session cookies are signed
 * with. Routes stay handler-authenticated: the console checks its own cookie.
 */
export class ConsoleSignIn extends Construct {
  /** The issuer identifier the console checks ID tokens against. */
  public readonly issuerUrl: string;
  public readonly clientId: string;
  /**
   * Where sign-out ends the issuer's session when its discovery document names no end-session
   * endpoint: the Cognito hosted UI's `/logout` (Cognito publishes none).
   */
  public readonly logoutUrl?: string;
  /** The user pool, when this construct created it. */
  public readonly userPool?: IUserPool;
  /** The key session cookies are signed with; replacing it signs everyone out. */
  public readonly sessionKeySecret: ISecret;

  public constructor(scope: Construct, id: string, props: ConsoleSignInProps) {
    super(scope, id);
    this.sessionKeySecret = new Secret(this, 'SessionKey', {
      description: 'Casebook: the key console session cookies are signed with (HMAC-SHA256)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.sessionKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the session key signs every person out; it is rotated by replacing it when that is wanted, not on a schedule.',
    });

    if (props.issuer) {
      this.issuerUrl = props.issuer.issuerUrl;
      this.clientId = props.issuer.clientId;
      if (props.issuer.logoutUrl) this.logoutUrl = props.issuer.logoutUrl;
      return;
    }
    const pool = new UserPool(this, 'People', {
      // The organisation's people are invited by an administrator; nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      // People who can read every incident's money and decisions sign in with a second factor,
      // and Cognito's threat protection (the Plus plan) blocks sign-ins it judges compromised.
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireUppercase: true,
        requireLowercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
    });
    const domain = new UserPoolDomain(this, 'Domain', {
      userPool: pool,
      cognitoDomain: { domainPrefix: props.domainPrefix ?? `casebook-${Aws.ACCOUNT_ID}` },
    });
    const client = pool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [`${props.apiUrl}/auth/callback`],
        logoutUrls: [`${props.apiUrl}/auth/logout`],
      },
    });
    this.userPool = pool;
    // Cognito's discovery document names no end_session_endpoint: sign-out goes to the hosted
    // UI's /logout with the client id and one of the client's sign-out URLs.
    this.logoutUrl = `${domain.baseUrl()}/logout`;
    this.issuerUrl = `https://cognito-idp.${Stack.of(this).region}.${Aws.URL_SUFFIX}/${pool.userPoolId}`;
    this.clientId = client.userPoolClientId;
    // Named as the deploy guide names it, not after the construct's path.
    new CfnOutput(this, 'UserPoolId', {
      value: pool.userPoolId,
      description: 'The console’s Cognito user pool: add the organisation’s people here',
    }).overrideLogicalId('UserPoolId');
  }

  /** Gives a function the issuer, the client and read access to the session key. */
  public bind(fn: CasebookFunction): void {
    fn.addEnvironment(ENV.oidcIssuerUrl, this.issuerUrl).addEnvironment(ENV.oidcClientId, this.clientId);
    if (this.logoutUrl) fn.addEnvironment(ENV.oidcLogoutUrl, this.logoutUrl);
    fn.bindSecret({ secret: this.sessionKeySecret, envName: ENV.sessionKeySecretArn });
  }
}
