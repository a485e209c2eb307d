/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracketed keys for nesting
 * (`metadata[order]=42`, `expand[0]=charge`), in bodies and in query strings alike.
 */

/** A decoded parameter: a string, or an object / array of them. */
export type Param = string | Params | Param[];
export interface Params {
  [key: string]: Param;
}

/** Decodes a form body or query string into nested objects; `a[0]`/`a[]` make arrays. */
export function parseForm(encoded: string): Params {
  // No prototype: a `metadata[__proto__]` key is data, not a way to reach Object.prototype.
  const root: Params = Object.create(null);
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const path = keyPath(rawKey);
    if (!path) continue;
    let node: Params | Param[] = root;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i] as string;
      const last = i === path.length - 1;
      const index: string | number = segment === '' && Array.isArray(node) ? node.length : segment;
      if (last) {
        (node as Record<string, Param>)[index] = value;
        break;
      }
      const next = path[i + 1] as string;
      const existing: Param | undefined = (node as Record<string, Param>)[index];
      const child: Params | Param[] =
        typeof existing === 'object'
          ? existing
          : /^\d*$/.test(next)
            ? ([] as Param[])
            : (Object.create(null) as Params);
      (node as Record<string, Param>)[index] = child;
      node = child;
    }
  }
  return root;
}

/** `metadata[order][id]` → `['metadata', 'order', 'id']`; undefined for a malformed key. */
function keyPath(key: string): string[] | undefined {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m?.[1]) return undefined;
  return [m[1], ...[...(m[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1] ?? '')];
}

/** The parameters as canonical JSON (sorted keys), so two encodings of one request compare equal. */
export function canonicalParams(params: Param): string {
  if (typeof params === 'string') return JSON.stringify(params);
  if (Array.isArray(params)) return `[${params.map(canonicalParams).join(',')}]`;
  return `{${Object.keys(params)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalParams(params[k] as Param)}`)
    .join(',')}}`;
}
