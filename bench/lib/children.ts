/**
 * Server child processes for the bench. Each server runs in its own process so the load
 * generator is not inside it. Guarantees: every child started here is in one live set until it
 * has exited; `stopChild` signals it by PID (SIGTERM, then SIGKILL after a grace period) and
 * resolves only once it is gone; `killAllChildrenSync` SIGKILLs whatever is left, for exit and
 * signal handlers. stdout/stderr are always drained (a full pipe would stall the server) and the
 * last few KiB are kept for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const TAIL_BYTES = 8192;

export interface ChildSpec {
  /** Short name used in messages. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Whether it has exited already. */
  hasExited(): boolean;
  /** The last bytes of stdout and stderr, interleaved as they arrived. */
  outputTail(): string;
  /** Calls `listener` with each complete stdout line from now on, until the returned function is called. */
  onStdoutLine(listener: (line: string) => void): () => void;
}

const live = new Set<ManagedChild>();

export function startChild(spec: ChildSpec): ManagedChild {
  const proc = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${spec.name}: could not spawn ${spec.command}`);

  let tail = '';
  let pendingLine = '';
  let exited = false;
  const lineListeners = new Set<(line: string) => void>();
  const keep = (text: string): void => {
    tail = (tail + text).slice(-TAIL_BYTES);
  };
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    keep(chunk);
    pendingLine += chunk;
    let newline = pendingLine.indexOf('\n');
    while (newline >= 0) {
      const line = pendingLine.slice(0, newline);
      pendingLine = pendingLine.slice(newline + 1);
      for (const listener of lineListeners) listener(line);
      newline = pendingLine.indexOf('\n');
    }
    if (pendingLine.length > TAIL_BYTES) pendingLine = pendingLine.slice(-TAIL_BYTES);
  });
  proc.stderr?.setEncoding('utf8').on('data', keep);

  const child: ManagedChild = {
    name: spec.name,
    pid: proc.pid,
    process: proc,
    exited: new Promise<ExitInfo>((resolve) => {
      proc.once('exit', (code, signal) => {
        exited = true;
        live.delete(child);
        resolve({ code, signal });
      });
    }),
    hasExited: () => exited,
    outputTail: () => tail,
    onStdoutLine: (listener) => {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
  };
  live.add(child);
  return child;
}

/** Waits for the `{"port":N}` line a bench server prints when listening. */
export function waitForPortLine(child: ManagedChild, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${child.name}: no {"port":N} line within ${timeoutMs} ms`)), timeoutMs);
    const stopListening = child.onStdoutLine((line) => {
      try {
        const parsed = JSON.parse(line) as { port?: unknown };
        if (typeof parsed.port === 'number') finish(undefined, parsed.port);
      } catch {
        // Not the port line; the server may log other things first.
      }
    });
    void child.exited.then((info) => finish(exitError(child, info)));
    function finish(error: Error | undefined, port?: number): void {
      clearTimeout(timer);
      stopListening();
      if (error) reject(error);
      else resolve(port!);
    }
  });
}

export function exitError(child: ManagedChild, info: ExitInfo): Error {
  return new Error(
    `${child.name} (pid ${child.pid}) exited early (code ${info.code}, signal ${info.signal}). Output tail:\n${child.outputTail()}`,
  );
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ManagedChild, graceMs = 5000): Promise<void> {
  if (child.hasExited()) return;
  signal(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signal(child.pid, 'SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child, graceMs)));
}

/** For exit paths that cannot wait: SIGKILL every child still running. */
export function killAllChildrenSync(): void {
  for (const child of live) signal(child.pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone (ESRCH): nothing to do.
  }
}
