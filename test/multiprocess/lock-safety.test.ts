/**
 * Safety of the lock service under faults, across three real processes with default timeouts:
 * 20 clients take turns on one EXCLUSIVE lock and write to a fenced resource with their tokens
 * while the meta leader is killed -9 (then restarted) and a holder in another process is
 * paused (SIGSTOP) past its session TTL. The service's own history (lockEvents, resumed on
 * another node when its node dies) must show no two holds overlapping; the paused holder
 * hears LOST, and its late write is refused for its stale token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { loadBuiltLocalCluster } from '../helpers/built.js';
import { waitFor } from '../helpers/wait-for.js';
import { runFixture, type Fixture } from './lock-fixtures/child.js';
import {
  ACQUIRE,
  CLOSE_SESSION,
  KEEP_ALIVE,
  OPEN_SESSION,
  RELEASE,
  codeOf,
  gql,
  agreedLeader as agreedLeaderOf,
  retryable,
  type Acquisition,
} from './lock-fixtures/gql.js';
import { checkExclusiveHistory, LockHistory, type HistoryEvent } from './lock-fixtures/history.js';
import { startFencedResource, writeFenced, type FencedResource } from './lock-fixtures/resource.js';

const LOCK = 'counter';
const CLIENTS = 20;
const TARGET_SECTIONS = 300;
const MIN_SECTIONS = 100;
const RUN_LIMIT_MS = 25_000;
const CLIENT_TTL_MS = 5_000;
const CHILD_TTL_MS = 3_000;
const PAUSE_MS = 6_000;
const ACQUIRE_TIMEOUT_MS = 3_000;
const SEED = Number(process.env['LOCK_SAFETY_SEED'] ?? Date.now() % 2 ** 31);

let dataRoot: string;
let cluster: LocalCluster;
let resource: FencedResource;
let child: Fixture | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The leader `nodeIds` all name (other than `not`, a node just killed). */
function agreedLeader(nodeIds: readonly string[], not?: string, timeoutMs = 15_000): Promise<string> {
  return agreedLeaderOf(nodeIds.map((id) => cluster.node(id).url), cluster.readToken, not, timeoutMs);
}

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'distsync-lock-safety-'));
  const { LocalCluster } = await loadBuiltLocalCluster();
  cluster = await LocalCluster.create({ nodes: 3, dataRoot, logLevel: 'warn' });
  await cluster.startAll();
  resource = await startFencedResource();
});

afterAll(async () => {
  await child?.stop();
  await cluster?.stopAll();
  await resource?.close();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

describe('Safety under faults, real processes', () => {
  it('keeps EXCLUSIVE holds apart and fences a paused holder through a leader kill and a SIGSTOP past the TTL', async () => {
    console.log(`lock-safety seed ${SEED} (rerun with LOCK_SAFETY_SEED=${SEED})`);
    const ids = cluster.nodes.map((n) => n.id);
    const token = cluster.adminToken;
    const leader = await agreedLeader(ids);

    // The history subscription starts on the leader, so the kill makes it resume elsewhere.
    const history = new LockHistory(() => cluster.nodes, cluster.readToken, LOCK);
    history.start(leader);
    // A probe hold proves the subscription is live before the clients start.
    let probes = 0;
    const probeHold = async (url: string, waitMs = 10_000): Promise<number> => {
      const r = `probe-${++probes}`;
      const probe = (await gql<{ openSession: { id: string } }>(url, token, OPEN_SESSION, { ttl: CLIENT_TTL_MS })).openSession.id;
      const got = (await gql<{ acquireLock: Acquisition }>(url, token, ACQUIRE, { name: LOCK, s: probe, t: 20_000, r }, 25_000)).acquireLock;
      await gql(url, token, RELEASE, { name: LOCK, s: probe, f: got.fencingToken, r: `${r}-release` });
      await gql(url, token, CLOSE_SESSION, { s: probe });
      // Where its release is in the history.
      return waitFor(
        () => history.events.findIndex((e) => e.type === 'RELEASED' && e.fencingToken === got.fencingToken) + 1,
        waitMs,
        'lockEvents delivers the probe release',
      );
    };
    // The history is checked from there: the lock is free and the clients have not started.
    const checkedFrom = await waitFor(
      () => probeHold(cluster.node(ids.find((id) => id !== leader)!).url, 1_000).catch(() => 0),
      10_000,
      'the lockEvents subscription is live',
    );

    // ---- the clients ----------------------------------------------------------------------
    const stats = { sections: 0, accepted: 0, rejected: 0, lockTimeouts: 0, retries: 0, sessionsLost: 0, unexpected: [] as string[] };
    const grants: Array<{ client: string; token: bigint; at: number }> = [];
    const sessions: string[] = [];
    const runStart = Date.now();
    let faultsDone = false;
    let stop = false;
    const shouldStop = () => stop || Date.now() - runStart > RUN_LIMIT_MS || (faultsDone && stats.sections >= TARGET_SECTIONS);

    const runClient = async (i: number) => {
      const id = `c${i}`;
      const random = prng(SEED + i);
      let node = i % ids.length;
      let session: string | undefined;
      let attempt = 0;
      // Same request (and requestId) on this node or the next, for UNAVAILABLE and network errors.
      const call = async <T>(query: string, variables: Record<string, unknown>, timeoutMs: number, budgetMs: number): Promise<T> => {
        const deadline = Date.now() + budgetMs;
        for (let n = 0; ; n++) {
          try {
            return await gql<T>(cluster.nodes[node]!.url, token, query, variables, timeoutMs);
          } catch (error) {
            if (!retryable(error) || n >= 60 || Date.now() > deadline) throw error;
            stats.retries++;
            node = (node + 1) % ids.length;
            await sleep(Math.min(300, 50 + 25 * n));
          }
        }
      };
      let renewing = true;
      const renewer = (async () => {
        while (renewing) {
          await sleep(1_000);
          const s = session;
          if (!s || !renewing) continue;
          try {
            await call(KEEP_ALIVE, { s }, 1_500, 3_000);
          } catch (error) {
            const code = codeOf(error);
            if ((code === 'SESSION_EXPIRED' || code === 'SESSION_NOT_FOUND') && session === s) {
              stats.sessionsLost++;
              session = undefined;
            }
          }
        }
      })();
      try {
        while (!shouldStop()) {
          if (!session) {
            session = (await call<{ openSession: { id: string } }>(OPEN_SESSION, { ttl: CLIENT_TTL_MS }, 3_000, 15_000)).openSession.id;
            sessions.push(session);
          }
          const s = session;
          const requestId = `${id}-${attempt++}`;
          let grant: Acquisition;
          try {
            grant = (
              await call<{ acquireLock: Acquisition }>(
                ACQUIRE,
                { name: LOCK, s, t: ACQUIRE_TIMEOUT_MS, r: requestId },
                ACQUIRE_TIMEOUT_MS + 5_000,
                20_000,
              )
            ).acquireLock;
          } catch (error) {
            const code = codeOf(error);
            if (code === 'LOCK_TIMEOUT') stats.lockTimeouts++;
            else if (code === 'SESSION_EXPIRED' || code === 'SESSION_NOT_FOUND') {
              stats.sessionsLost++;
              if (session === s) session = undefined;
            } else {
              stats.unexpected.push(`${id} acquire ${requestId}: ${(error as Error).message}`);
              await sleep(200);
            }
            continue;
          }
          const fencingToken = grant.fencingToken!;
          grants.push({ client: id, token: BigInt(fencingToken), at: Date.now() });
          await sleep(random() * 20);
          const status = await writeFenced(resource.url, id, fencingToken);
          if (status === 200) stats.accepted++;
          else stats.rejected++;
          try {
            await call(RELEASE, { name: LOCK, s, f: fencingToken, r: `${requestId}-release` }, 5_000, 20_000);
          } catch (error) {
            const code = codeOf(error);
            if (code === 'SESSION_EXPIRED' || code === 'SESSION_NOT_FOUND') {
              stats.sessionsLost++;
              if (session === s) session = undefined;
            } else stats.unexpected.push(`${id} release ${fencingToken}: ${(error as Error).message}`);
          }
          stats.sections++;
        }
      } finally {
        renewing = false;
        await renewer;
      }
    };
    const running = Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(i)));

    try {
      // ---- (a) kill -9 the meta leader, restart it later -------------------------------------
      await sleep(2_000);
      const victim = await agreedLeader(ids);
      const survivors = ids.filter((id) => id !== victim);
      const historyOnVictim = history.node === victim;
      const maxBefore = grants.reduce((m, g) => (g.token > m ? g.token : m), -1n);
      const killedAt = Date.now();
      await cluster.signal(victim, 'SIGKILL');
      const nextAfterKill = await waitFor(() => grants.find((g) => g.at > killedAt && g.token > maxBefore), 15_000, 'a grant after the kill');
      const newLeader = await agreedLeader(survivors, victim);
      const electedMs = Date.now() - killedAt;
      await sleep(1_000);
      cluster.spawnNode(victim);
      await cluster.waitHealthy(victim);
      const restartedMs = Date.now() - killedAt;

      // ---- (b) a holder in another process, paused past its TTL -----------------------------
      child = runFixture('./paused-holder.mjs', {
        DS_URLS: [...survivors, victim].map((id) => cluster.node(id).url).join(','),
        DS_TOKEN: token,
        DS_RESOURCE: resource.url,
        DS_LOCK: LOCK,
        DS_TTL: String(CHILD_TTL_MS),
      });
      const holding = await child.next('holding', 20_000);
      const childToken = String(holding['token']);
      const childSession = String(holding['sessionId']);
      process.kill(child.pid, 'SIGSTOP');
      const stoppedAt = Date.now();
      const lost = await waitFor(
        () => history.events.find((e) => e.type === 'LOST' && e.fencingToken === childToken),
        PAUSE_MS + 6_000,
        'the paused holder loses its lock',
      );
      const nextHolder = await waitFor(
        () => history.events.find((e) => e.type === 'GRANTED' && BigInt(e.fencingToken!) > BigInt(childToken)),
        5_000,
        'the next holder after the paused one',
      );
      // Someone with a newer token has written before the paused holder wakes up.
      await waitFor(() => resource.highest() > BigInt(childToken), 5_000, 'a newer token reaches the resource');
      await sleep(stoppedAt + PAUSE_MS - Date.now());
      const stillPaused = child.child.exitCode === null && child.child.signalCode === null;
      const sessionView = (
        await gql<{ session: { state: string; expiresAt: number } | null }>(cluster.node(newLeader).url, token, 'query($id: ID!) { session(id: $id) { state expiresAt } }', {
          id: childSession,
        })
      ).session;
      process.kill(child.pid, 'SIGCONT');
      const resumedAt = Date.now();
      child.send('write');
      const late = await child.next('late-write', 10_000);
      const heardLost = await child.next('lost', 10_000, (r) => r['type'] === 'LOST');
      const ended = await child.next('lost', 10_000, (r) => r['type'] === 'SESSION_ENDED');
      faultsDone = true;

      await running;
      await Promise.all(sessions.map((s) => gql(cluster.node(newLeader).url, token, CLOSE_SESSION, { s }).catch(() => undefined)));
      // A last probe hold: once its release is in the history, everything before it is too.
      await probeHold(cluster.node(newLeader).url);
      await history.stop();
      const runMs = Date.now() - runStart;

      // ---- figures ---------------------------------------------------------------------------
      const { violations, holds } = checkExclusiveHistory(history.events.slice(checkedFrom));
      const accepted = resource.attempts.filter((a) => a.accepted);
      const lostTokens = new Set(history.events.filter((e) => e.type === 'LOST').map((e) => e.fencingToken));
      const grantedTokens = new Set(history.events.filter((e) => e.type === 'GRANTED').map((e) => e.fencingToken));
      const childWrites = resource.attempts.filter((a) => a.client === 'paused-child');
      console.log(
        `critical sections ${stats.sections} in ${runMs} ms; writes accepted ${accepted.length}, rejected ${resource.attempts.length - accepted.length} ` +
          `(clients: ${stats.accepted} accepted, ${stats.rejected} rejected); lock timeouts ${stats.lockTimeouts}, retries ${stats.retries}, ` +
          `sessions lost ${stats.sessionsLost}, resource counter ${resource.counter()}`,
      );
      console.log(
        `history: ${history.events.length} events, ${holds.length} holds, ${lostTokens.size} LOST, resumed ${history.resumes.length}× ` +
          `(${history.resumes.map((r) => `${r.from}→${r.to} after ${r.after} [${r.reason}]`).join(', ')}); violations ${violations.length}`,
      );
      console.log(
        `leader ${victim} killed -9: next grant ${nextAfterKill.at - killedAt} ms later (token ${nextAfterKill.token}), ` +
          `${newLeader} agreed by both survivors ${electedMs} ms after, ${victim} healthy again ${restartedMs} ms after`,
      );
      console.log(
        `paused holder (token ${childToken}, TTL ${CHILD_TTL_MS}): stopped ${PAUSE_MS} ms; LOST in the history ${lost.receivedAt - stoppedAt} ms ` +
          `after SIGSTOP, next holder ${nextHolder.sessionId} granted token ${nextHolder.fencingToken} ${nextHolder.receivedAt - stoppedAt} ms after SIGSTOP; ` +
          `session ${sessionView?.state} with deadline ${sessionView ? sessionView.expiresAt - stoppedAt : '?'} ms after SIGSTOP`,
      );
      console.log(
        `paused holder after SIGCONT: late write ${String(late['status'])} ${late.at - resumedAt} ms after, heard LOST ${heardLost.at - resumedAt} ms after ` +
          `(before its late write: ${String(late['heardLostBefore'])}), SESSION_ENDED ${ended.at - resumedAt} ms after`,
      );
      if (violations.length > 0) console.log(violations.slice(0, 20).join('\n'));
      if (stats.unexpected.length > 0) console.log(`unexpected errors:\n${stats.unexpected.slice(0, 20).join('\n')}`);

      // ---- checks ----------------------------------------------------------------------------
      expect(history.failure).toBeUndefined();
      expect(violations).toEqual([]);
      if (historyOnVictim) expect(history.resumes.some((r) => r.from === victim && r.at >= killedAt)).toBe(true);
      // The paused holder: it held the lock and wrote, was paused until after the next grant,
      // heard LOST, and its late write with the old token was refused.
      expect(holding['write']).toBe(200);
      expect(stillPaused).toBe(true);
      expect(lost.receivedAt).toBeGreaterThan(stoppedAt);
      expect(sessionView?.state).toBe('EXPIRED');
      expect(nextHolder.sessionId).not.toBe(childSession);
      expect(nextHolder.receivedAt).toBeLessThan(resumedAt);
      expect(late['status']).toBe(409);
      expect(childWrites.map((a) => a.accepted)).toEqual([true, false]);
      expect(heardLost['fencingToken']).toBe(childToken);
      // The resource: its counter is every accepted write, tokens never went back, and every
      // accepted token was granted; a refused write belongs to a hold that was lost.
      expect(resource.counter()).toBe(stats.accepted + 1);
      expect(resource.counter()).toBe(accepted.length);
      expect(stats.sections).toBeGreaterThanOrEqual(MIN_SECTIONS);
      for (let i = 1; i < accepted.length; i++) expect(accepted[i]!.token).toBeGreaterThanOrEqual(accepted[i - 1]!.token);
      for (const a of accepted) expect(grantedTokens.has(a.token.toString())).toBe(true);
      for (const a of resource.attempts.filter((x) => !x.accepted)) expect(lostTokens.has(a.token.toString())).toBe(true);
      expect(stats.unexpected).toEqual([]);
    } finally {
      stop = true;
      await running.catch(() => undefined);
      await history.stop();
    }
  }, 120_000);

  it('the overlap check finds an overlap and a token that went back', () => {
    const at = (cursor: string, type: string, sessionId: string, fencingToken: string, remaining: number | null = null): HistoryEvent => ({
      cursor,
      type,
      sessionId,
      fencingToken,
      mode: type === 'GRANTED' ? 'EXCLUSIVE' : null,
      remaining,
      node: 'n1',
      receivedAt: 0,
    });
    const fine = [at('1:0', 'GRANTED', 'a', '1'), at('2:0', 'RELEASED', 'a', '1', 0), at('2:1', 'GRANTED', 'b', '2'), at('3:0', 'LOST', 'b', '2')];
    expect(checkExclusiveHistory(fine).violations).toEqual([]);
    const overlap = [at('1:0', 'GRANTED', 'a', '1'), at('2:0', 'GRANTED', 'b', '2'), at('3:0', 'RELEASED', 'a', '1', 0)];
    expect(checkExclusiveHistory(overlap).violations.length).toBeGreaterThan(0);
    const back = [at('1:0', 'GRANTED', 'a', '2'), at('2:0', 'RELEASED', 'a', '2', 0), at('3:0', 'GRANTED', 'b', '1')];
    expect(checkExclusiveHistory(back).violations.length).toBeGreaterThan(0);
  });
});
