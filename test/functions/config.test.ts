import { describe, expect, it } from 'vitest';
import {
  approversConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  paymentsConfig,
  webhookTokenConfig,
} from '../../functions/adapters/config.ts';

describe('configuration parsed at cold start', () => {
  it('names every missing or wrong variable in one error', () => {
    expect(() =>
      loadConfig([operationsTableConfig, ledgerTableConfig, approversConfig], {
        CASEBOOK_APPROVER_LEGAL: 'not-an-address',
        CASEBOOK_PUBLIC_BASE_URL: 'ftp://example.com',
      }),
    ).toThrow(
      /CASEBOOK_OPERATIONS_TABLE.*CASEBOOK_LEDGER_TABLE.*CASEBOOK_APPROVER_LEGAL.*CASEBOOK_APPROVER_BUSINESS.*CASEBOOK_APPROVER_SRE.*CASEBOOK_PUBLIC_BASE_URL/,
    );
  });

  it('merges the parsed values and trims a trailing slash from the public URL', () => {
    const config = loadConfig([operationsTableConfig, approversConfig], {
      CASEBOOK_OPERATIONS_TABLE: 'ops',
      CASEBOOK_APPROVER_LEGAL: 'l@example.com',
      CASEBOOK_APPROVER_BUSINESS: 'b@example.com',
      CASEBOOK_APPROVER_SRE: 's@example.com',
      CASEBOOK_PUBLIC_BASE_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
    });
    expect(config).toEqual({
      operationsTable: 'ops',
      approvers: { legal: 'l@example.com', business: 'b@example.com', sre: 's@example.com' },
      publicBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
    });
  });

  it('takes the webhook token from exactly one place', () => {
    expect(loadConfig([webhookTokenConfig], { CASEBOOK_ALERTMANAGER_TOKEN: 'x'.repeat(20) })).toEqual({
      webhookToken: { kind: 'value', value: 'x'.repeat(20) },
    });
    expect(
      loadConfig([webhookTokenConfig], {
        CASEBOOK_ALERTMANAGER_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:x',
      }),
    ).toEqual({
      webhookToken: { kind: 'secret', secretId: 'arn:aws:secretsmanager:x' },
    });
    expect(() => loadConfig([webhookTokenConfig], {})).toThrow(/exactly one/);
    expect(() =>
      loadConfig([webhookTokenConfig], {
        CASEBOOK_ALERTMANAGER_TOKEN: 'x'.repeat(20),
        CASEBOOK_ALERTMANAGER_TOKEN_SECRET_ARN: 'arn',
      }),
    ).toThrow(/exactly one/);
    expect(() => loadConfig([webhookTokenConfig], { CASEBOOK_ALERTMANAGER_TOKEN: 'short' })).toThrow(
      /at least 16/,
    );
  });

  it('configures payments: stripe with a key from exactly one place, or manual', () => {
    expect(
      loadConfig([paymentsConfig], {
        CASEBOOK_PAYMENTS_PROVIDER: 'stripe',
        CASEBOOK_STRIPE_API_KEY: 'sk_test_local',
        CASEBOOK_STRIPE_API_BASE: 'http://127.0.0.1:12111',
      }),
    ).toEqual({
      payments: {
        provider: 'stripe',
        apiKey: { kind: 'value', value: 'sk_test_local' },
        apiBase: 'http://127.0.0.1:12111',
      },
    });
    expect(
      loadConfig([paymentsConfig], {
        CASEBOOK_PAYMENTS_PROVIDER: 'stripe',
        CASEBOOK_STRIPE_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:stripe',
      }),
    ).toEqual({
      payments: {
        provider: 'stripe',
        apiKey: { kind: 'secret', secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:stripe' },
      },
    });
    expect(loadConfig([paymentsConfig], { CASEBOOK_PAYMENTS_PROVIDER: 'manual' })).toEqual({
      payments: { provider: 'manual' },
    });
    expect(() => loadConfig([paymentsConfig], { CASEBOOK_PAYMENTS_PROVIDER: 'stripe' })).toThrow(
      /CASEBOOK_STRIPE_API_KEY set exactly one of/,
    );
    expect(() => loadConfig([paymentsConfig], {})).toThrow(
      /CASEBOOK_PAYMENTS_PROVIDER must be 'stripe' or 'manual'/,
    );
    const wrongKey = () =>
      loadConfig([paymentsConfig], {
        CASEBOOK_PAYMENTS_PROVIDER: 'stripe',
        CASEBOOK_STRIPE_API_KEY: 'pk_test_public',
      });
    expect(wrongKey).toThrow(/must be a Stripe secret key/);
    // The message names the variable, never the value.
    expect(wrongKey).not.toThrow(/pk_test_public/);
  });
});
