/**
 * An acquire whose entry reached this node only inside a snapshot: the Raft driver answers it
 * with a retryable error marked `applied` (it took effect, the result is unknown here). The
 * lock service asks again with the same request id and hands the caller the grant it already
 * has — not an error, and not a second (re-entrant) hold.
 */
import { describe, expect, it } from 'vitest';
import { appError } from '../../../src/errors.js';
import { LockModule } from '../../../src/lock/meta-module.js';
import { silentLogger } from '../../../src/log.js';
import { LockService } from '../../../src/services/lock-service.js';
import type { MetaService } from '../../../src/services/meta-service.js';
import { ManualScheduler } from '../../../src/util/scheduler.js';

function serviceOver(locks: LockModule, answerUnseenOnce: (command: { op: string }) => boolean) {
  let index = 0;
  const proposed: string[] = [];
  const meta = {
    propose(_module: string, command: { op: string }): Promise<unknown> {
      proposed.push(command.op);
      const result = locks.apply(command, { index: ++index, now: 1_000 + index });
      if (answerUnseenOnce(command)) return Promise.reject(appError('UNAVAILABLE', 'applied, result unknown here', { details: { applied: true } }));
      return Promise.resolve(result);
    },
    status: () => ({ role: 'follower' }),
    onEvent: () => () => undefined,
    readBarrier: () => Promise.resolve(),
  } as unknown as MetaService;
  const service = new LockService({ selfId: 'n1', meta, locks, scheduler: new ManualScheduler(), logger: silentLogger(), expiryCheckMs: 60_000 });
  return { service, proposed };
}

const admin = { id: 'admin', isAdmin: true };

describe('LockService, an acquire applied where this node did not see it', () => {
  it('answers with the grant it already has, once', async () => {
    const locks = new LockModule();
    let unseen = 1;
    const { service, proposed } = serviceOver(locks, (c) => c.op === 'acquire' && unseen-- > 0);
    const session = await service.openSession(admin, 60_000);
    const answer = await service.acquire({ name: 'L', mode: 'EXCLUSIVE', sessionId: session.sessionId, timeoutMs: 0, caller: admin });
    expect(answer).toMatchObject({ status: 'GRANTED', fencingToken: '1' });
    expect(proposed).toEqual(['openSession', 'acquire', 'acquire']);
    const view = locks.view().lock('L');
    expect(view?.holders).toHaveLength(1);
    expect(view?.holders[0]).toMatchObject({ sessionId: session.sessionId, count: 1 });
  });

  it('answers a release with a request id with its first result, and passes the error on for one without', async () => {
    const locks = new LockModule();
    let unseen = 0;
    const { service, proposed } = serviceOver(locks, (c) => c.op === 'release' && unseen-- > 0);
    const session = await service.openSession(admin, 60_000);
    const first = await service.acquire({ name: 'L', mode: 'EXCLUSIVE', sessionId: session.sessionId, timeoutMs: 0, caller: admin });
    const again = await service.acquire({ name: 'L', mode: 'EXCLUSIVE', sessionId: session.sessionId, timeoutMs: 0, caller: admin });
    expect(again).toMatchObject({ fencingToken: first.status === 'GRANTED' ? first.fencingToken : 'none' });
    const release = { name: 'L', sessionId: session.sessionId, fencingToken: '1', caller: admin };
    unseen = 1;
    await expect(service.release({ ...release, requestId: 'rel-1' })).resolves.toEqual({ ok: true, remaining: 1, alreadyReleased: false });
    expect(proposed.slice(-2)).toEqual(['release', 'release']);
    expect(locks.view().lock('L')?.holders[0]).toMatchObject({ count: 1 });
    unseen = 1;
    const proposedBefore = proposed.length;
    await expect(service.release(release)).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE', applied: true } });
    expect(proposed.length).toBe(proposedBefore + 1);
    expect(locks.view().lock('L')?.holders ?? []).toHaveLength(0); // applied once, not retried
  });

  it('passes the error on for commands without a request id', async () => {
    const locks = new LockModule();
    const { service } = serviceOver(locks, (c) => c.op === 'openSession');
    await expect(service.openSession(admin, 60_000)).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE', applied: true } });
  });
});
