/**
 * Starting the servers the bench measures, each in its own child process:
 * - `startScriptServer`: a bench server under bench/servers/, run with `node --import tsx`,
 *   ready when it prints `{"port":N}`;
 * - `startNodeServer`: one distsync node from the built CLI (dist/src/cli/main.js), single node,
 *   on a free port with a fresh temp data dir, ready when GET /health answers 200.
 * A RunningServer's `stop()` kills the process by PID and deletes what it created; the exit
 * guard covers the paths where `stop()` is never reached.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startChild, stopChild, waitForPortLine, type ManagedChild } from './children.js';
import { freePort } from './free-port.js';
import { waitForHttpOk } from './health.js';
import { repoPath, repoRoot } from './repo.js';
import { makeTempDir, removeTempDir } from './temp-dirs.js';

export interface RunningServer {
  readonly name: string;
  readonly port: number;
  readonly child: ManagedChild;
  stop(): Promise<void>;
}

/** The built node CLI, relative to the repository root. */
export const NODE_CLI = 'dist/src/cli/main.js';

export function nodeCliMissingReason(): string | undefined {
  return existsSync(repoPath(NODE_CLI))
    ? undefined
    : `${NODE_CLI} not found (node CLI not built or not written yet; \`npm run bench\` builds first)`;
}

/** A random secret of `bytes` bytes, hex (2 chars per byte). */
export function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export async function startScriptServer(
  name: string,
  script: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningServer> {
  const child = startChild({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', repoPath(script)],
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  try {
    const port = await waitForPortLine(child, 20_000);
    return { name, port, child, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

export interface NodeServerOptions {
  readonly id: string;
  /** Bearer token accepted with admin scope. */
  readonly token: string;
  readonly logLevel?: string;
  readonly readyTimeoutMs?: number;
}

export async function startNodeServer(options: NodeServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = makeTempDir(`distsync-bench-${options.id}-`);
  const name = `node ${options.id}`;
  const child = startChild({
    name,
    command: process.execPath,
    args: [
      repoPath(NODE_CLI),
      'start',
      '--id', options.id,
      '--listen', `127.0.0.1:${port}`,
      '--data-dir', dataDir,
      '--cluster-secret', randomSecret(24),
      '--tokens', `admin:${options.token}`,
      '--log-level', options.logLevel ?? 'warn',
    ],
    cwd: repoRoot,
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    removeTempDir(dataDir);
  };
  try {
    await waitForHttpOk(`http://127.0.0.1:${port}/health`, { timeoutMs: options.readyTimeoutMs ?? 30_000, child });
    return { name, port, child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
