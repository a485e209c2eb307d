/**
 * The local stack in a process of its own for the fault harness, so that a schedule can `kill -9`
 * all of it and start it again on the same data dir and ports. Its handlers reach DynamoDB, SES,
 * S3 and the Stripe stand-in through the fault proxy that lives in the test's process, and its
 * Lambda runtime asks that proxy before each invocation Step Functions makes.
 *
 *   node test/faults/stack-child.ts <dataDir> <portsJson> <handlerEndpointsJson> <controlUrl>
 *
 * prints `READY <json>` once everything listens.
 */
import { faultLambdaInvocations } from '../../local/fault-proxy/lambda.ts';
import { startLocalStack } from '../../local/stack.ts';
import { ROOT, WEBHOOK_TOKEN } from '../support/local-stack.ts';

const [dataDir, portsJson, endpointsJson, controlUrl] = process.argv.slice(2);
if (!dataDir || !portsJson || !endpointsJson || !controlUrl)
  throw new Error('usage: stack-child.ts <dataDir> <portsJson> <handlerEndpointsJson> <controlUrl>');

faultLambdaInvocations(controlUrl);
const stack = await startLocalStack({
  rootDir: ROOT,
  dataDir,
  ports: JSON.parse(portsJson),
  alertmanagerToken: WEBHOOK_TOKEN,
  handlerLogLevel: process.env.CASEBOOK_TEST_LOG_LEVEL ?? 'SILENT',
  handlerEndpoints: JSON.parse(endpointsJson),
  // Each request the gateway answered (its status and time), each execution started or resumed:
  // what the harness keeps for a schedule whose invariant breaks. CASEBOOK_FAULT_STACK_LOG=0 mutes it.
  ...(process.env.CASEBOOK_FAULT_STACK_LOG === '0'
    ? {}
    : { log: (line: string) => process.stdout.write(`${line}\n`) }),
});
process.stdout.write(
  `READY ${JSON.stringify({ endpoints: stack.endpoints, stateMachineArn: stack.stateMachineArn, tables: stack.tables })}\n`,
);
