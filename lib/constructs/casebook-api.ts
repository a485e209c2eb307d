import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpApi,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_THROTTLE, type Route } from '../../functions/routes.ts';
import { throwIfInvalid } from './validation.ts';

/** Properties of a {@link CasebookApi}. */
export interface CasebookApiProps {
  /** Exactly the routes to create; the local gateway serves the same list. */
  readonly routes: readonly Route[];
  /** The function behind each route's `fn`. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * For each function behind a `handler`-authenticated route, how the handler authenticates its
   * callers (there is no API Gateway authorizer on such routes). Required, so a new route forces
   * the question; `iam` routes are signed with SigV4 and checked by API Gateway.
   */
  readonly authentication: Readonly<Record<string, string>>;
  /**
   * Steady-state requests per second, each route.
   * @default API_THROTTLE.rateLimit (functions/routes.ts), which the local gateway applies too
   */
  readonly rateLimit?: number;
  /**
   * Requests each route absorbs in a burst above `rateLimit`.
   * @default API_THROTTLE.burstLimit (functions/routes.ts)
   */
  readonly burstLimit?: number;
  /**
   * How long access logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: RetentionDays;
}

/**
 * The public HTTP API (payload v2): alert webhooks, the incidents API and the approval pages,
 * on a throttled `$default` stage with JSON access logs.
 */
export class CasebookApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: IHttpApi;
  /** Base URL of the `$default` stage, without a trailing slash; links in emails start with it. */
  public readonly url: string;

  public constructor(scope: Construct, id: string, props: CasebookApiProps) {
    super(scope, id);
    const rateLimit = props.rateLimit ?? API_THROTTLE.rateLimit;
    const burstLimit = props.burstLimit ?? API_THROTTLE.burstLimit;
    throwIfInvalid(this, [
      ...routeProblems(props.routes, props.functions, props.authentication),
      ...(rateLimit > 0 ? [] : [`rateLimit must be positive, got ${rateLimit}`]),
      ...(Number.isInteger(burstLimit) && burstLimit > 0
        ? []
        : [`burstLimit must be a positive integer, got ${burstLimit}`]),
    ]);

    const httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Casebook: alert webhooks, incidents API and approval pages',
      createDefaultStage: false,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new HttpStage(this, 'DefaultStage', {
      httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // The route key rather than the raw path and no query string: nothing a link carries
        // beyond its route reaches the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });

    // One integration per function: every route of a function shares it, and each route still
    // gets its own invoke permission scoped to its path.
    const integrations = new Map<string, HttpLambdaIntegration>();
    const iam = new HttpIamAuthorizer();
    for (const route of props.routes) {
      const fn = props.functions[route.fn] as IFunction;
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.fn}Integration`, fn, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(route.fn, integration);
      }
      const httpRoute = new HttpRoute(this, routeId(route), {
        httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration,
        ...(route.auth === 'iam' ? { authorizer: iam } : {}),
      });
      if (route.auth === 'handler') {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: props.authentication[route.fn] as string,
        });
      }
    }

    this.httpApi = httpApi;
    this.url = httpApi.apiEndpoint;
  }
}

/** Readable, stable construct IDs: `GET /incidents/{incidentId}` becomes `GET-incidents-{incidentId}`. */
function routeId(route: Route): string {
  return [route.method, ...route.path.split('/').filter(Boolean)].join('-');
}

function routeProblems(
  routes: readonly Route[],
  functions: Readonly<Record<string, IFunction>>,
  authentication: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) problems.push(`route ${key} is defined twice`);
    seen.add(key);
    if (!route.path.startsWith('/')) problems.push(`route ${key}: path must start with /`);
    if (!(route.method in HttpMethod)) problems.push(`route ${key}: unsupported method`);
    if (!functions[route.fn]) problems.push(`route ${key}: no function given for ${route.fn}`);
    if (route.auth === 'handler' && (authentication[route.fn]?.trim().length ?? 0) < 10) {
      problems.push(
        `route ${key}: say how callers of ${route.fn} are authenticated (authentication.${route.fn})`,
      );
    }
  }
  return problems;
}
