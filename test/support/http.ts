/** Builds API Gateway payload v2 events for handler tests. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export function apiEvent(options: {
  method: string;
  path: string;
  routeKey: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  query?: Record<string, string>;
  /** Where API Gateway saw the request come from. */
  client?: { sourceIp: string; userAgent: string };
}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: options.path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: options.headers ?? {},
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test.local',
      domainPrefix: 'test',
      http: {
        method: options.method,
        path: options.path,
        protocol: 'HTTP/1.1',
        sourceIp: options.client?.sourceIp ?? '127.0.0.1',
        userAgent: options.client?.userAgent ?? 'test',
      },
      requestId: 'req-1',
      routeKey: options.routeKey,
      stage: '$default',
      time: 'now',
      timeEpoch: 0,
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  };
}
