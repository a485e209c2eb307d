/** Bodies of `POST /incidents/{id}/ledger`, as the people who record them would send them. */

/** A legal fee as finance records it. */
export const legalFee = {
  kind: 'legal_fee',
  actor: 'Grace Hopper <grace@corp.example>',
  reason: 'Outside counsel reviewed the customer notice against the ToS compensation clause.',
  evidence: 'https://invoices.corp.example/2026/INV-0042',
  amount: '1250.00',
  currency: 'EUR',
  obligation: 'tos',
  productArea: 'payments',
  effectiveAt: '2026-11-23T09:00:00Z',
} as const;

/** Ops labour: hours at finance's hourly rate, no amount of its own. */
export const opsLabour = {
  ...legalFee,
  kind: 'ops_labour',
  amount: undefined,
  hours: '6.5',
  rate: '95.00',
  obligation: 'brand',
} as const;
