/**
 * Stack traces of a deployed function name the TypeScript sources, with the bundle's source map read
 * only when a stack is first formatted. Node's `--enable-source-maps` reads, parses and indexes the
 * map, and scans the whole bundle, at every cold start: a fifth of the biggest bundle's load, paid
 * by every container though most never print a stack.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Maps the frames in the module at `moduleUrl` (a bundle: `import.meta.url` in any of its modules)
 * through the source map beside it. Does nothing where there is no map beside it (the sources run
 * as they are, in tests and locally) or where Node maps stacks itself.
 */
export function mapStackTracesOf(moduleUrl: string): void {
  if (!moduleUrl.startsWith('file:') || process.sourceMapsEnabled) return;
  const bundlePath = fileURLToPath(moduleUrl);
  const mapPath = `${bundlePath}.map`;
  if (!existsSync(mapPath)) return;

  let map: SourceMap | null | undefined;
  const sourceMap = (): SourceMap | null => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')));
      } catch {
        map = null;
      }
    }
    return map;
  };
  const mapUrl = pathToFileURL(mapPath);

  const frame = (site: NodeJS.CallSite): string => {
    const text = site.toString();
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if ((file !== moduleUrl && file !== bundlePath) || line === null || column === null) return text;
    const entry = sourceMap()?.findEntry(line - 1, column - 1);
    if (!entry || !('originalSource' in entry)) return text;
    const source = fileURLToPath(new URL(entry.originalSource, mapUrl));
    return text.replace(
      `${file}:${line}:${column}`,
      `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`,
    );
  };

  Error.prepareStackTrace = (error, sites) => {
    const header = error instanceof Error ? Error.prototype.toString.call(error) : String(error);
    return [header, ...sites.map((site) => `    at ${frame(site)}`)].join('\n');
  };
}
