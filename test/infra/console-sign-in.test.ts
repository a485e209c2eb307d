import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/env-names.ts';
import { buildCasebookApp, synthCasebookApp } from './casebook-app.ts';

/** The console function's environment variables, as the template gives them. */
function consoleEnvironment(template: ReturnType<typeof synthCasebookApp>['statelessTemplate']) {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('incident console') },
  });
  const [fn] = Object.values(fns) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  return fn?.Properties.Environment.Variables ?? {};
}

// Synthesized once per configuration, before the tests, as the other infra tests do.
let pooled: ReturnType<typeof synthCasebookApp>;
let ownIssuer: ReturnType<typeof synthCasebookApp>;
beforeAll(() => {
  pooled = synthCasebookApp();
  ownIssuer = synthCasebookApp({
    'casebook:oidc': JSON.stringify({ issuerUrl: 'https://login.example.com/oauth2', clientId: 'casebook' }),
  });
});

describe('console sign-in on AWS', () => {
  it('creates a Cognito user pool and a PKCE client whose callback is the API’s when no issuer is configured', () => {
    const t = pooled.statelessTemplate;
    t.resourceCountIs('AWS::Cognito::UserPool', 1);
    t.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayWith(['openid', 'email']),
      CallbackURLs: [
        Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/auth/callback'])]) }),
      ],
    });
    const env = consoleEnvironment(t);
    expect(env[ENV.oidcIssuerUrl]).toMatchObject({ 'Fn::Join': expect.anything() });
    expect(JSON.stringify(env[ENV.oidcIssuerUrl])).toContain('cognito-idp.');
    expect(env[ENV.oidcClientId]).toMatchObject({ Ref: expect.stringMatching(/Console/) });
    expect(env[ENV.sessionKeySecretArn]).toMatchObject({ Ref: expect.stringMatching(/SessionKey/) });
    expect(env[ENV.sessionKeyFile]).toBeUndefined();
  });

  it('ends the Cognito session on sign-out: the hosted UI’s /logout, back to the API’s /auth/logout', () => {
    const t = pooled.statelessTemplate;
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      LogoutURLs: [Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/auth/logout'])]) })],
    });
    const logout = JSON.stringify(consoleEnvironment(t)[ENV.oidcLogoutUrl]);
    expect(logout).toContain('.auth.');
    expect(logout).toContain('amazoncognito.com/logout');
    // The deployer's own issuer publishes its end-session endpoint, or names one.
    expect(consoleEnvironment(ownIssuer.statelessTemplate)[ENV.oidcLogoutUrl]).toBeUndefined();
  });

  it('uses the deployer’s issuer and creates no pool when one is configured', () => {
    const t = ownIssuer.statelessTemplate;
    t.resourceCountIs('AWS::Cognito::UserPool', 0);
    const env = consoleEnvironment(t);
    expect(env[ENV.oidcIssuerUrl]).toBe('https://login.example.com/oauth2');
    expect(env[ENV.oidcClientId]).toBe('casebook');
  });

  it('refuses an issuer that is not https, naming the field', () => {
    expect(() =>
      buildCasebookApp({ 'casebook:oidc': { issuerUrl: 'http://login.example.com', clientId: 'c' } }),
    ).toThrow(/casebook:oidc\.issuerUrl must be an https URL/);
  });
});
