import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { caseFileSchema } from '../../functions/domain/case-file.ts';
import type { LocalPorts, LocalStack } from '../../local/stack.ts';
import { APOLOGY, closeCase, openedToDecide, POSTMORTEM } from '../support/casework.ts';
import { casebook } from '../support/cli.ts';
import { approvalLinks, approve, freePorts, getCase, start, tempDataDir } from '../support/local-stack.ts';
import { legalFee, opsLabour } from '../support/manual-entries.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let ports: LocalPorts;
let dataDir: string;
let incidentId: string;
let detectedAt: string;

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  stack = await start(dataDir, ports);
  incidentId = (await openedToDecide(stack, sample)).incidentId;
  for (const [role, link] of await approvalLinks(stack, incidentId, 1)) {
    expect((await approve(link, `ok from ${role}`)).status).toBe(303);
  }
  const closed = (await closeCase(stack, incidentId)) as unknown as { incident: { detectedAt: string } };
  detectedAt = closed.incident.detectedAt;
}, 120_000);
afterAll(() => stack?.close());

/** Records `body`; what took effect on the sample's date took effect when the incident was detected. */
async function record(
  body: Record<string, unknown>,
  key: string,
): Promise<{ status: number; entry: Record<string, unknown> }> {
  const effectiveAt = body.effectiveAt === legalFee.effectiveAt ? detectedAt : body.effectiveAt;
  const res = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/ledger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ ...body, effectiveAt }),
  });
  return { status: res.status, entry: (await res.json()) as Record<string, unknown> };
}

describe('what people did by hand, on the ledger, in the P&L and the case file', () => {
  it('records operations and costs once each, and nets a correction out of the P&L', async () => {
    const flagOff = await record(
      {
        ...legalFee,
        kind: 'manual_operation',
        amount: undefined,
        currency: undefined,
        world: 'RML2',
        reason: 'Turned the payments retry flag off in the admin console',
        evidence: 'https://admin.corp.example/audit/4711',
        effectiveAt: detectedAt,
      },
      'flag-off',
    );
    expect(flagOff.status).toBe(201);
    const fee = await record(legalFee, 'legal-fee');
    expect(fee.status).toBe(201);
    expect(await record(legalFee, 'legal-fee')).toEqual({ status: 200, entry: fee.entry });
    expect((await record(opsLabour, 'labour')).status).toBe(201);
    const refund = await record(
      {
        ...legalFee,
        kind: 'refund',
        amount: '25.00',
        customerRef: 'cus_ada',
        providerRef: 're_admin_1',
        obligation: 'brand',
      },
      'refund-by-hand',
    );
    expect(refund.status).toBe(201);
    expect(JSON.stringify(refund.entry)).not.toContain('cus_ada');
    const corrected = await record(
      {
        ...legalFee,
        kind: 'correction',
        amount: '1100.00',
        corrects: fee.entry.id,
        providerRef: 'INV-0042-C',
      },
      'fee-credit-note',
    );
    expect(corrected.status).toBe(201);

    const { pnl } = (await getCase(stack, incidentId)) as unknown as { pnl: { totals: unknown[] } };
    expect(pnl.totals).toEqual([
      { kind: 'refund', currency: 'EUR', obligation: 'brand', count: 1, minor: 2500, amount: '25.00' },
      { kind: 'ops_labour', currency: 'EUR', obligation: 'brand', count: 1, minor: 61_750, amount: '617.50' },
      { kind: 'legal_fee', currency: 'EUR', obligation: 'tos', count: 1, minor: 110_000, amount: '1100.00' },
    ]);
  });

  it('serves the case file as seed 000 §4 has it, with no customer address', async () => {
    const res = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/case-file.yaml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    const yaml = await res.text();
    const caseFile = caseFileSchema.parse(parse(yaml));
    expect(caseFile).toMatchObject({
      incident_id: incidentId,
      title: 'Possible double charge: settled payments were charged twice',
      rml_world: 'RML3',
      status: 'closed',
      detected_at: detectedAt,
      detected_by: [{ type: 'alert', source: 'alertmanager/PaymentDoubleCharge' }],
      classification: {
        severity: 'SEV1',
        asset: ['money'],
        // As the responder assessed it in the workroom.
        scope: { affected_users_estimate: 3, affected_transactions_estimate: 3 },
      },
      actions: {
        technical: [
          { type: 'refund', world: 'RML3', count: 1 },
          { type: 'correction', world: 'RML3', count: 1 },
          {
            type: 'manual_operation',
            world: 'RML2',
            detail: 'Turned the payments retry flag off in the admin console',
          },
        ],
        communication: [{ type: 'user_email', world: 'RML3', template_id: 'apology_v1', count: 2 }],
      },
      // From the postmortem, in seed 000's three parts.
      lessons_learned: POSTMORTEM.lessons,
    });
    expect(caseFile.decisions.summary).toBe(APOLOGY.summary);
    expect(caseFile.decisions.decided_by.toSorted((a, b) => a.role.localeCompare(b.role))).toEqual([
      { role: 'business', name: 'Business approver' },
      { role: 'sre', name: 'SRE approver' },
    ]);
    const types = caseFile.timeline.map((t) => t.type);
    expect(types[0]).toBe('detection');
    expect(types).toEqual(
      expect.arrayContaining(['phase_entered', 'approval_decided', 'manual_operation', 'legal_fee']),
    );
    expect(caseFile.timeline.map((t) => t.at)).toEqual(caseFile.timeline.map((t) => t.at).sort());
    for (const address of ['ada@example.com', 'grace@example.com']) expect(yaml).not.toContain(address);
    expect(yaml).not.toMatch(/@/);
  });

  it('prints the same case file with npx casebook case-file, and the ledger still verifies', async () => {
    // What a person sets to reach this stack: its data directory and its moved ports.
    const user = {
      CASEBOOK_DATA_DIR: dataDir,
      CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
      CASEBOOK_S3_PORT: String(ports.s3),
    };
    const cli = async (...args: string[]) => {
      const result = await casebook(args, user);
      expect(result.stderr).toBe('');
      return result;
    };
    const served = await (
      await fetch(`${stack.endpoints.api}/incidents/${incidentId}/case-file.yaml`)
    ).text();
    expect((await cli('case-file', incidentId)).stdout).toBe(served);
    const verified = JSON.parse((await cli('ledger', 'verify', '--incident', incidentId, '--json')).stdout);
    expect(verified.incidents).toEqual([expect.objectContaining({ incidentId, problems: [] })]);
  });
});
