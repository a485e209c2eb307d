/**
 * The one function of `semver` the bundled libraries call: the X-Ray SDK's patcher for the AWS SDK
 * v2 (which Casebook never loads) and cls-hooked's check of the Node version. The bundler puts this
 * module in place of `semver` (`BUNDLE_ALIASES` in lib/constructs/casebook-function.ts), which
 * keeps 28 KiB of parsing out of every cold start. Prerelease and build tags are ignored: both
 * callers compare release versions.
 */
export function gte(version: string, than: string): boolean {
  const parts = (v: string) =>
    v
      .replace(/^[=v\s]+/, '')
      .split(/[-+]/)[0]
      ?.split('.')
      .map((n) => Number.parseInt(n, 10) || 0) ?? [];
  const [a, b] = [parts(version), parts(than)];
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

export default { gte };
