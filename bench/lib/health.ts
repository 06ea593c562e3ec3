/**
 * Readiness by polling: GET a URL until it answers 200, with a deadline, and give up at once
 * if the server process has already exited (its output tail goes into the error).
 */
import { exitError, type ManagedChild } from './children.js';

export interface WaitForOkOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** The server process, so its early exit ends the wait with its output. */
  readonly child?: ManagedChild;
}

export async function waitForHttpOk(url: string, options: WaitForOkOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (options.child?.hasExited()) throw exitError(options.child, await options.child.exited);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  const tail = options.child ? `\nOutput tail:\n${options.child.outputTail()}` : '';
  throw new Error(`${url} not 200 within ${options.timeoutMs} ms (last: ${last})${tail}`);
}
