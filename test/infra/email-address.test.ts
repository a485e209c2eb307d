/**
 * `cdk synth` and a function's cold start judge an address by the same rule: an address the CDK
 * settings accept is one every function's configuration accepts, and the other way round.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, mailFromConfig } from '../../functions/adapters/config.ts';
import { approvalPolicyConfig } from '../../functions/adapters/rules-config.ts';
import { ENV } from '../../functions/env-names.ts';
import { parseSettings } from '../../lib/settings.ts';

const GOOD = [
  'casebook@example.com',
  'first.last+incidents@mail.example.co.uk',
  "o'neil@example.org",
  'legal@casebook.local',
];
const BAD = [
  'Casebook <casebook@example.com>',
  'casebook@localhost',
  'casebook@example',
  'casebook@example.c',
  'casebook example@example.com',
  'casebook@@example.com',
  'two..dots@example.com',
  '.leading-dot@example.com',
  '(comment)casebook@example.com',
  'casebook@-example.com',
  '',
];

/** Whether `cdk synth` accepts the address as the sender and as every approver. */
function synthAccepts(address: string): boolean {
  return parseSettings({ mailFrom: address, approvers: { legal: address, business: address, sre: address } })
    .ok;
}

/** Whether a function accepts the address as its sender and as every approver at cold start. */
function coldStartAccepts(address: string): boolean {
  const env = {
    [ENV.mailFrom]: address,
    [ENV.approverLegal]: address,
    [ENV.approverBusiness]: address,
    [ENV.approverSre]: address,
    [ENV.publicBaseUrl]: 'https://casebook.example.com',
  };
  try {
    loadConfig([mailFromConfig, approvalPolicyConfig], env);
    return true;
  } catch {
    return false;
  }
}

describe('one e-mail rule for the CDK settings and the functions', () => {
  it.each(GOOD)('both accept %j', (address) => {
    expect([synthAccepts(address), coldStartAccepts(address)]).toEqual([true, true]);
  });

  it.each(BAD)('both refuse %j', (address) => {
    expect([synthAccepts(address), coldStartAccepts(address)]).toEqual([false, false]);
  });
});
