import { describe, expect, it } from 'vitest';
import {
  deadlineConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  paymentsConfig,
  publicBaseUrlConfig,
  signingSecretsConfig,
  webhookTokenConfig,
} from '../../functions/adapters/config.ts';
import {
  approvalPolicyConfig,
  closeConfig,
  labourRatesConfig,
} from '../../functions/adapters/rules-config.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';

describe('configuration parsed at cold start', () => {
  it('names every missing or wrong variable in one error', () => {
    expect(() =>
      loadConfig([operationsTableConfig, ledgerTableConfig, approvalPolicyConfig, publicBaseUrlConfig], {
        CASEBOOK_APPROVER_LEGAL: 'not-an-address',
        CASEBOOK_PUBLIC_BASE_URL: 'ftp://example.com',
      }),
    ).toThrow(
      /CASEBOOK_OPERATIONS_TABLE.*CASEBOOK_LEDGER_TABLE.*CASEBOOK_APPROVER_LEGAL must.*CASEBOOK_APPROVER_BUSINESS.*CASEBOOK_APPROVER_SRE.*CASEBOOK_PUBLIC_BASE_URL/,
    );
  });

  it('merges the parsed values and trims a trailing slash from the public URL', () => {
    const config = loadConfig([operationsTableConfig, approvalPolicyConfig, publicBaseUrlConfig], {
      CASEBOOK_OPERATIONS_TABLE: 'ops',
      CASEBOOK_APPROVER_LEGAL: 'l@example.com',
      CASEBOOK_APPROVER_BUSINESS: 'b@example.com',
      CASEBOOK_APPROVER_SRE: 's@example.com',
      CASEBOOK_PUBLIC_BASE_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
    });
    expect(config).toMatchObject({
      operationsTable: 'ops',
      approvalPolicy: {
        roster: {
          legal: { primary: { email: 'l@example.com', name: 'Legal approver' } },
          business: { primary: { email: 'b@example.com', name: 'Business approver' } },
          sre: { primary: { email: 's@example.com', name: 'SRE approver' } },
        },
      },
      publicBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
    });
  });

  it('takes the approval policy as JSON over the approver addresses, listing every problem under its variable', () => {
    const policy = {
      approvers: { legal: { primary: { email: 'lee@example.com', name: 'Lee Legal' } } },
      sizes: { small: { roles: ['sre'] } },
    };
    const config = loadConfig([approvalPolicyConfig], {
      CASEBOOK_APPROVAL_POLICY: JSON.stringify(policy),
      CASEBOOK_APPROVER_BUSINESS: 'b@example.com',
      CASEBOOK_APPROVER_SRE: 's@example.com',
    });
    expect(config.approvalPolicy.roster.legal?.primary.name).toBe('Lee Legal');
    expect(config.approvalPolicy.sizes.small).toEqual({ roles: ['sre'], quorum: 1, veto: [] });
    expect(() => loadConfig([approvalPolicyConfig], { CASEBOOK_APPROVAL_POLICY: '{sizes:' })).toThrow(
      'CASEBOOK_APPROVAL_POLICY must be JSON',
    );
    let message = '';
    try {
      loadConfig([approvalPolicyConfig], {
        CASEBOOK_APPROVAL_POLICY: JSON.stringify({ sizes: { small: { roles: ['sre'], quorum: 2 } } }),
        CASEBOOK_APPROVER_LEGAL: 'l@example.com',
        CASEBOOK_APPROVER_BUSINESS: 'nobody',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CASEBOOK_APPROVER_BUSINESS must be an email address');
    expect(message).toContain('CASEBOOK_APPROVAL_POLICY sizes.small.quorum is 2, more than the 1 role asked');
    expect(message).toContain(
      'CASEBOOK_APPROVAL_POLICY approvers.sre is required: sizes.medium, sizes.large ask sre (or set CASEBOOK_APPROVER_SRE)',
    );
  });

  it('takes each webhook signing secret from exactly one place, naming every one that is not', () => {
    expect(
      loadConfig([signingSecretsConfig], {
        CASEBOOK_GRAFANA_SECRET: 'g'.repeat(16),
        CASEBOOK_PAGERDUTY_SECRET_ARN: 'arn:aws:secretsmanager:pd',
        CASEBOOK_GENERIC_SECRET: 'n'.repeat(16),
      }),
    ).toEqual({
      signingSecrets: {
        grafana: { kind: 'value', value: 'g'.repeat(16) },
        pagerduty: { kind: 'secret', secretId: 'arn:aws:secretsmanager:pd' },
        generic: { kind: 'value', value: 'n'.repeat(16) },
      },
    });
    let message = '';
    try {
      loadConfig([signingSecretsConfig], {
        CASEBOOK_GRAFANA_SECRET: 'short',
        CASEBOOK_PAGERDUTY_SECRET: 'p'.repeat(16),
        CASEBOOK_PAGERDUTY_SECRET_ARN: 'arn',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CASEBOOK_GRAFANA_SECRET must be at least 16 characters');
    expect(message).toContain(
      'CASEBOOK_PAGERDUTY_SECRET set exactly one of CASEBOOK_PAGERDUTY_SECRET (local) and CASEBOOK_PAGERDUTY_SECRET_ARN (AWS)',
    );
    expect(message).toContain('CASEBOOK_GENERIC_SECRET set exactly one of');
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

  it('shortens deadlines for a drill: any target, the regulatory clock, and how often waits look', () => {
    const { deadlines } = loadConfig([deadlineConfig], {
      CASEBOOK_DEADLINES: JSON.stringify({
        SEV2: { response: 0.05, resolution: 0.25, decision: 0.2 },
        regulatory: 0.1,
        escalation: 0.5,
        checkFloorSeconds: 1,
        checkCeilingSeconds: 2,
      }),
    });
    expect(deadlines.targets.SEV2).toEqual({
      response: { minutes: 0.05 },
      resolution: { minutes: 0.25 },
      postmortem: DEFAULT_DEADLINE_POLICY.targets.SEV2.postmortem,
      decision: { minutes: 0.2 },
    });
    expect(deadlines.targets.SEV1).toEqual(DEFAULT_DEADLINE_POLICY.targets.SEV1);
    // Without a drill's `decision`, each severity's own decision deadline counts.
    expect(deadlines.decisionMinutes).toBeUndefined();
    expect(deadlines).toMatchObject({
      regulatoryMinutes: 0.1,
      escalationMinutes: 0.5,
      floorSeconds: 1,
      ceilingSeconds: 2,
    });
    // Unset, the policy is Casebook's own: 72 hours for the regulator.
    expect(loadConfig([deadlineConfig], {}).deadlines).toEqual(DEFAULT_DEADLINE_POLICY);
    expect(DEFAULT_DEADLINE_POLICY.regulatoryMinutes).toBe(72 * 60);
  });

  it('refuses deadlines that are not JSON, unknown keys, and a floor above the ceiling', () => {
    const load = (text: string) => () => loadConfig([deadlineConfig], { CASEBOOK_DEADLINES: text });
    expect(load('{SEV1')).toThrow(/CASEBOOK_DEADLINES must be JSON/);
    expect(load('{"SEV5":{"response":1}}')).toThrow(/CASEBOOK_DEADLINES/);
    expect(load('{"regulatory":0}')).toThrow(/CASEBOOK_DEADLINES.regulatory must be a positive number/);
    expect(load('{"checkFloorSeconds":10,"checkCeilingSeconds":5}')).toThrow(
      /checkFloorSeconds must not exceed checkCeilingSeconds/,
    );
    expect(load('{"checkFloorSeconds":7200}')).toThrow(/must not exceed/);
  });
});

describe('labour rates (CASEBOOK_LABOUR_RATES)', () => {
  it('reads each role’s rate, none when unset, and names every problem on the variable', () => {
    expect(
      loadConfig([labourRatesConfig], {
        CASEBOOK_LABOUR_RATES: '{"SRE": {"amount": "120.00", "currency": "EUR"}}',
      }),
    ).toEqual({ labourRates: [{ role: 'SRE', rate: { minor: 12000, currency: 'EUR' } }] });
    expect(loadConfig([labourRatesConfig], {})).toEqual({ labourRates: [] });
    expect(() =>
      loadConfig([labourRatesConfig], {
        CASEBOOK_LABOUR_RATES:
          '{"SRE": {"amount": "1.001", "currency": "EUR"}, "Ops": {"amount": "0", "currency": "EUR"}}',
      }),
    ).toThrow(
      'Casebook configuration is invalid: CASEBOOK_LABOUR_RATES SRE.amount EUR has 2 decimal places, "1.001" has more; CASEBOOK_LABOUR_RATES Ops.amount must be more than 0',
    );
  });
});

describe("the close's lag and exchange rates (CASEBOOK_CLOSE_LAG_DAYS, CASEBOOK_EXCHANGE_RATES)", () => {
  it('default to 5 days and no rates, and name every problem on its variable', () => {
    expect(loadConfig([closeConfig], {})).toEqual({ closeLagDays: 5 });
    expect(
      loadConfig([closeConfig], {
        CASEBOOK_CLOSE_LAG_DAYS: '0',
        CASEBOOK_EXCHANGE_RATES: '{"currency": "EUR", "rates": {"USD": "0.92"}}',
      }),
    ).toEqual({ closeLagDays: 0, exchangeRates: { currency: 'EUR', rates: { USD: '0.92', EUR: '1' } } });
    expect(() =>
      loadConfig([closeConfig], {
        CASEBOOK_CLOSE_LAG_DAYS: '367',
        CASEBOOK_EXCHANGE_RATES: '{"currency": "EUR", "rates": {"USD": 0.92}}',
      }),
    ).toThrow(
      'Casebook configuration is invalid: CASEBOOK_CLOSE_LAG_DAYS must be a whole number of days from 0 to 366, not "367"; CASEBOOK_EXCHANGE_RATES rates: USD must be a decimal string, e.g. "0.92"',
    );
    for (const bad of ['-1', '2.5', 'soon'])
      expect(() => loadConfig([closeConfig], { CASEBOOK_CLOSE_LAG_DAYS: bad })).toThrow(
        /CASEBOOK_CLOSE_LAG_DAYS/,
      );
    expect(() => loadConfig([closeConfig], { CASEBOOK_EXCHANGE_RATES: '{"USD": "0.92"}' })).toThrow(
      'CASEBOOK_EXCHANGE_RATES must be JSON {"currency": "EUR", "rates": {"USD": "0.92"}}',
    );
  });
});
