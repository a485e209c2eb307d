import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localSigningSecrets } from '../../local/stack.ts';

describe('npm start: webhook signing secrets', () => {
  it('generates each one not given into the data directory, mode 600, and keeps it across restarts', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casebook-secrets-'));
    const first = localSigningSecrets(dataDir, { pagerduty: 'given-pagerduty-secret-0123' });
    expect(first.pagerduty).toEqual({ secret: 'given-pagerduty-secret-0123' });
    for (const source of ['grafana', 'generic'] as const) {
      const { secret, file } = first[source];
      expect(file).toBe(join(dataDir, `${source}-secret`));
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(readFileSync(file as string, 'utf8').trim()).toBe(secret);
      expect(statSync(file as string).mode & 0o777).toBe(0o600);
    }
    expect(first.grafana.secret).not.toBe(first.generic.secret);
    const again = localSigningSecrets(dataDir);
    expect(again.grafana.secret).toBe(first.grafana.secret);
    expect(again.generic.secret).toBe(first.generic.secret);
    expect(again.pagerduty.file).toBe(join(dataDir, 'pagerduty-secret'));
  });
});
