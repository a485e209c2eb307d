/**
 * The fault proxy in front of the local Lambda runtime: before each invocation Step Functions
 * makes, the runtime asks the proxy's control listener whether to fail it, and fails it as Lambda's
 * service does (the errors the ASL retries: `Lambda.TooManyRequestsException`,
 * `Lambda.ServiceException`, `Lambda.SdkClientException`), or runs the handler and then loses its
 * answer (the function did its work; Step Functions never learns it). Invocations from the API
 * gateway pass untouched: the proxy's HTTP listeners already fail what those handlers call.
 */
import { LocalLambdaRuntime } from '../lambda-runtime.ts';
import type { FaultKind } from './proxy.ts';

function lambdaError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

async function askProxy(controlUrl: string, fn: string, event: unknown): Promise<FaultKind | null> {
  try {
    // What the invocation is about (its incident), for faults scoped to one incident.
    const about = JSON.stringify(event ?? null).slice(0, 4000);
    const res = await fetch(controlUrl, { method: 'POST', body: JSON.stringify({ fn, about }) });
    return ((await res.json()) as { fault: FaultKind | null }).fault;
  } catch {
    // A proxy that is gone injects nothing.
    return null;
  }
}

/** Makes every LocalLambdaRuntime of this process ask the fault proxy at `controlUrl` first. */
export function faultLambdaInvocations(controlUrl: string): void {
  const invoke = LocalLambdaRuntime.prototype.invoke;
  LocalLambdaRuntime.prototype.invoke = async function (this: LocalLambdaRuntime, key, event) {
    if (event !== null && typeof event === 'object' && 'requestContext' in event)
      return invoke.call(this, key, event);
    const fault = await askProxy(controlUrl, key, event);
    switch (fault) {
      case 'throttle':
        throw lambdaError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
      case 'error':
        throw lambdaError('Lambda.ServiceException', 'Lambda was unable to process the request.');
      case 'reset':
        throw lambdaError('Lambda.SdkClientException', 'Unable to execute HTTP request: Connection reset');
      case 'timeout':
        await invoke.call(this, key, event);
        throw lambdaError('Lambda.SdkClientException', 'Unable to execute HTTP request: Read timed out');
      default:
        return invoke.call(this, key, event);
    }
  };
}
