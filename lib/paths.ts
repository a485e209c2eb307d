import path from 'node:path';

/** The repository root: catalog entries and the ASL file are relative to it. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
