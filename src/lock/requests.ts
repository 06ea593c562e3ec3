/**
 * Request records: what makes a retried acquire idempotent. Every acquire that is granted or
 * queued is recorded under its client requestId, and a retry answers from the record (the
 * same grant, or the wait's current state) instead of acquiring again. A release that carries
 * a requestId and answers OK is recorded the same way (in its own map; one id space for both).
 */
import { queueFinished } from './gc.js';
import type { Context } from './grants.js';
import { lockError } from './errors.js';
import type { ReleaseRecord, RequestRecord } from './state.js';
import type { AcquireCommand, AcquireResult, ReleaseResult } from './types.js';

export function recordRequest(
  ctx: Context,
  cmd: AcquireCommand,
  arrival: number,
  status: 'GRANTED' | 'WAITING',
  token: bigint | undefined,
  expiresAt: number | undefined,
  reentrant: boolean,
): RequestRecord {
  const r: RequestRecord = {
    requestId: cmd.requestId,
    sessionId: cmd.sessionId,
    name: cmd.name,
    mode: cmd.mode,
    arrival,
    deadline: ctx.now + cmd.timeoutMs,
    state: status,
  };
  if (cmd.ephemeral === true) r.ephemeral = true;
  if (token !== undefined) r.fencingToken = token;
  if (expiresAt !== undefined) r.expiresAt = expiresAt;
  ctx.state.requests.set(r.requestId, r);
  ctx.state.sessions.get(r.sessionId)?.requests.add(r.requestId);
  if (status === 'GRANTED') {
    ctx.events.push({
      type: 'GRANTED',
      requestId: r.requestId,
      sessionId: r.sessionId,
      name: r.name,
      mode: r.mode,
      fencingToken: (token ?? 0n).toString(),
      reentrant,
      queued: false,
    });
  }
  return r;
}

/** The answer a request gives now: its grant, WAITING, or how it failed. */
export function answerOf(r: RequestRecord): AcquireResult {
  switch (r.state) {
    case 'GRANTED':
      return { ok: true, status: 'GRANTED', fencingToken: (r.fencingToken ?? 0n).toString(), expiresAt: r.expiresAt ?? 0 };
    case 'WAITING':
      return { ok: true, status: 'WAITING' };
    case 'FAILED':
      return r.error ?? lockError('LOCK_TIMEOUT', 'the request failed');
  }
}

export function recordRelease(
  ctx: Context,
  requestId: string,
  sessionId: string,
  name: string,
  token: bigint,
  remaining: number,
  alreadyReleased: boolean,
): ReleaseResult {
  const r: ReleaseRecord = { requestId, sessionId, name, token, remaining, alreadyReleased, finishedAt: ctx.now };
  ctx.state.releases.set(requestId, r);
  ctx.state.sessions.get(sessionId)?.requests.add(requestId);
  queueFinished(ctx, requestId);
  return releaseAnswer(r);
}

export function releaseAnswer(r: ReleaseRecord): ReleaseResult {
  return { ok: true, remaining: r.remaining, alreadyReleased: r.alreadyReleased };
}
