import { describe, expect, it } from 'vitest';
import { classify, parseAddressList, severityFromLabels } from '../../functions/domain/alert.ts';

describe('triage (seed 001 §3.2, §4)', () => {
  it('makes a default-to-RML3 category RML3 even when labelled RML2', () => {
    const c = classify({ world: 'RML2', category: 'security-suspicion', severity: 'warning' });
    expect(c).toMatchObject({
      world: 'RML3',
      isIncident: true,
      categories: ['security_suspicion'],
      severity: 'SEV3',
    });
  });

  it('keeps an explicitly RML1/RML2 alert without such a category out of the History World', () => {
    expect(classify({ world: 'RML2' })).toMatchObject({ world: 'RML2', isIncident: false });
    expect(classify({ rml_world: 'rml-1' })).toMatchObject({ world: 'RML1', isIncident: false });
  });

  it('treats a gray case (no world label) as RML3 until downscoped', () => {
    const c = classify({ alertname: 'Something' });
    expect(c.world).toBe('RML3');
    expect(c.isIncident).toBe(true);
    expect(c.reason).toMatch(/Gray case/);
  });

  it('maps severity labels, and defaults an unknown one to SEV2 saying so', () => {
    expect(severityFromLabels({ severity: 'critical' })).toEqual({ severity: 'SEV1', fromLabel: true });
    expect(severityFromLabels({ severity: 'SEV-3' })).toEqual({ severity: 'SEV3', fromLabel: true });
    expect(severityFromLabels({ priority: 'P4' })).toEqual({ severity: 'SEV4', fromLabel: true });
    expect(severityFromLabels({ severity: 'spicy' })).toEqual({ severity: 'SEV2', fromLabel: false });
    expect(classify({ world: 'RML3' }).reason).toMatch(/defaulted to SEV2/);
  });

  it('accepts only addresses the Act step will accept too', () => {
    expect(parseAddressList('a@b.c a..b@example.com ada@example.com').invalid).toEqual([
      'a@b.c',
      'a..b@example.com',
    ]);
  });

  it('splits address lists and reports what is not an address', () => {
    expect(parseAddressList('A@Example.com; b@example.org  a@example.com,x')).toEqual({
      addresses: ['a@example.com', 'b@example.org'],
      invalid: ['x'],
    });
  });
});
