/** Loads the lifecycle ASL with `${…}` substitutions, as CDK's `definitionSubstitutions` does. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionKey } from '../functions/catalog.ts';
import { FUNCTIONS, STATE_MACHINE } from '../functions/catalog.ts';

/** The `${Name}` → function ARN map for the ASL, from the catalog. */
export function functionSubstitutions(arnOf: (key: FunctionKey) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(FUNCTIONS)) {
    if ('substitution' in spec) out[spec.substitution] = arnOf(key as FunctionKey);
  }
  return out;
}

/** Reads the ASL file and replaces every `${Name}`; a placeholder left unresolved is an error. */
export function loadDefinition(rootDir: string, substitutions: Readonly<Record<string, string>>): object {
  const raw = readFileSync(join(rootDir, STATE_MACHINE.definitionFile), 'utf8');
  const missing = new Set<string>();
  const text = raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) missing.add(name);
    return value ?? whole;
  });
  if (missing.size > 0)
    throw new Error(`No substitution for ${[...missing].join(', ')} in ${STATE_MACHINE.definitionFile}`);
  return JSON.parse(text);
}
