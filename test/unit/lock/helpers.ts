import { expect } from 'vitest';
import { LockTable } from '../../../src/lock/index.js';
import type { AcquireResult, LockMode } from '../../../src/lock/index.js';

export const TTL = 10_000;

export function tableWith(sessions: string[], options: ConstructorParameters<typeof LockTable>[0] = {}): LockTable {
  const t = new LockTable(options);
  for (const s of sessions) expect(t.openSession({ sessionId: s, owner: 'o', ttlMs: TTL, now: 0 }).ok).toBe(true);
  return t;
}

export function acq(
  t: LockTable,
  requestId: string,
  sessionId: string,
  mode: LockMode,
  opts: { name?: string; timeoutMs?: number; now?: number; ephemeral?: boolean } = {},
): AcquireResult {
  return t.acquire({
    requestId,
    sessionId,
    name: opts.name ?? 'L',
    mode,
    now: opts.now ?? 1,
    timeoutMs: opts.timeoutMs ?? 5000,
    ...(opts.ephemeral === undefined ? {} : { ephemeral: opts.ephemeral }),
  });
}

/** The fencing token of a granted answer (fails the test otherwise). */
export function tokenOf(r: AcquireResult): string {
  if (!r.ok || r.status !== 'GRANTED') throw new Error(`not granted: ${JSON.stringify(r)}`);
  return r.fencingToken;
}

export function holders(t: LockTable, name = 'L'): string[] {
  return (t.lock(name)?.holders ?? []).map((h) => `${h.sessionId}:${h.mode[0]}`);
}

export function waiters(t: LockTable, name = 'L'): string[] {
  return (t.lock(name)?.waiters ?? []).map((w) => w.requestId);
}

/** A JSON round trip, as a snapshot would travel. */
export function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
