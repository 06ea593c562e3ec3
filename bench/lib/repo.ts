/** Paths the bench needs, resolved from this file so the bench runs from any cwd. */
import { fileURLToPath } from 'node:url';

/** The repository root (contains package.json, bench/, dist/). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function repoPath(relative: string): string {
  return fileURLToPath(new URL(relative, new URL('../../', import.meta.url)));
}
