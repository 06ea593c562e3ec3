/**
 * Temporary directories for bench servers (node data dirs). Each is created under the OS temp
 * dir and remembered until removed, so exit and signal handlers can delete whatever a failed
 * run left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Removes every directory made here and not yet removed. Synchronous: safe in 'exit'. */
export function removeAllTempDirsSync(): void {
  for (const dir of made) removeTempDir(dir);
}
