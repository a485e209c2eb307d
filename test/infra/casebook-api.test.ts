import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionKey } from '../../functions/catalog.ts';
import { API_THROTTLE, ROUTES } from '../../functions/routes.ts';
import { synthCasebookApp } from './casebook-app.ts';

const { stateless, statelessTemplate: template } = synthCasebookApp();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, unknown> }
>;
const routeResources = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
const functionArn = (key: FunctionKey) => stateless.resolve(stateless.functions[key].functionArn);

/** The integration a route targets, read from its `integrations/<id>` target. */
function integrationOf(route: { Properties: Record<string, unknown> }) {
  const target = JSON.stringify(route.Properties.Target);
  const id = Object.keys(resources).find(
    (logicalId) =>
      resources[logicalId]?.Type === 'AWS::ApiGatewayV2::Integration' &&
      target.includes(`{"Ref":"${logicalId}"}`),
  );
  expect(id).toBeDefined();
  return resources[id as string] as { Properties: Record<string, unknown> };
}

describe('the HTTP API', () => {
  it('is one HTTP API', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  });

  it('has exactly the routes of functions/routes.ts, HEAD included', () => {
    const routeKeys = routeResources.map((r) => r.Properties.RouteKey as string).sort();
    expect(routeKeys).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(routeKeys.some((k) => k.startsWith('HEAD '))).toBe(ROUTES.some((r) => r.method === 'HEAD'));
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r.fn] as const))(
    '%s invokes %s with payload format 2.0',
    (routeKey, fn) => {
      const route = routeResources.find((r) => r.Properties.RouteKey === routeKey);
      expect(route).toBeDefined();
      expect(integrationOf(route as { Properties: Record<string, unknown> }).Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: functionArn(fn),
      });
    },
  );

  it('requires SigV4 (IAM) on the responders API and leaves handler-authenticated routes to their handlers', () => {
    for (const route of ROUTES) {
      const resource = routeResources.find((r) => r.Properties.RouteKey === `${route.method} ${route.path}`);
      expect(resource?.Properties.AuthorizationType ?? 'NONE', `${route.method} ${route.path}`).toBe(
        route.auth === 'iam' ? 'AWS_IAM' : 'NONE',
      );
    }
    expect(ROUTES.filter((r) => r.auth === 'iam').map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /incidents',
      'GET /incidents/{incidentId}',
      'GET /incidents/{incidentId}/case-file.yaml',
      'POST /incidents',
      'POST /incidents/{incidentId}/ledger',
    ]);
  });

  it('lets API Gateway invoke each routed function, for its routes only', () => {
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: functionArn(route.fn),
        SourceArn: Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([`/*/*${route.path}`])]),
        }),
      });
    }
    // Three more: EventBridge's schedules invoke the functions that anchor, export and close the ledger.
    template.resourceCountIs('AWS::Lambda::Permission', ROUTES.length + 3);
    for (const fn of ['anchorLedger', 'exportLedger', 'closePeriod'] as const) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: functionArn(fn),
      });
    }
  });

  it('serves a throttled $default stage with JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      // The numbers the local gateway throttles with.
      DefaultRouteSettings: {
        ThrottlingRateLimit: API_THROTTLE.rateLimit,
        ThrottlingBurstLimit: API_THROTTLE.burstLimit,
      },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.serializedJson(
          Match.objectLike({ requestId: '$context.requestId', routeKey: '$context.routeKey' }),
        ),
      },
    });
  });

  it('gives the API endpoint to the functions that build links, none of which the API itself invokes', () => {
    const linkBuilders = (Object.keys(FUNCTIONS) as FunctionKey[]).filter(
      (key) => (FUNCTIONS[key].needs as { publicBaseUrl?: boolean }).publicBaseUrl,
    );
    expect(linkBuilders).toEqual([
      'recordPhase',
      'requestApproval',
      'carryOutEffects',
      'watchDeadlines',
      'sesEvents',
    ]);
    const endpoint = stateless.resolve(stateless.apiUrl);
    expect(endpoint).toEqual({ 'Fn::GetAtt': [expect.any(String), 'ApiEndpoint'] });
    for (const key of linkBuilders) {
      expect(ROUTES.map((r) => r.fn)).not.toContain(key);
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: Match.absent(),
        Environment: { Variables: Match.objectLike({ CASEBOOK_PUBLIC_BASE_URL: endpoint }) },
      });
    }
  });
});
