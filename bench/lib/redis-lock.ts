/**
 * The Redis baseline: the single-instance lock pattern (SET key token NX PX 30000, then a Lua
 * compare-and-delete) on the machine's Redis, one ioredis connection per client, under the
 * same closed loop as the distsync cases. Keys live under a prefix unique to this run, and
 * only those keys are deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';
import { runClosedLoop, type ClosedLoopResult } from './closed-loop.js';
import { startCpuWindow, type CpuWindow } from './proc-cpu.js';

const UNLOCK_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface LockingRedis extends Redis {
  benchUnlock(key: string, token: string): Promise<number>;
}

export interface RedisCaseOptions {
  readonly url: string;
  readonly clients: number;
  readonly names: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly maxOps: number;
}

export type RedisCaseOutcome =
  | {
      readonly status: 'ok';
      readonly result: ClosedLoopResult;
      readonly cpu: CpuWindow | undefined;
      readonly server: string;
      readonly persistence: string;
      readonly prefix: string;
    }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

const CONNECTION: RedisOptions = {
  lazyConnect: true,
  connectTimeout: 2_000,
  commandTimeout: 10_000,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
};

/** Where the URL points, without a password. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

export async function runRedisCase(options: RedisCaseOptions): Promise<RedisCaseOutcome> {
  const admin = new Redis(options.url, CONNECTION);
  // connect() rejects with "Connection is closed"; the cause comes as an 'error' event.
  let lastError: string | undefined;
  admin.on('error', (error: Error) => (lastError = error.message));
  try {
    await admin.connect();
    await admin.ping();
  } catch (error) {
    admin.disconnect();
    return { status: 'skipped', reason: `cannot reach ${redactedRedisUrl(options.url)}: ${lastError ?? messageOf(error)}` };
  }

  const prefix = `distsync-bench:${process.pid}-${randomBytes(4).toString('hex')}:`;
  const keys = Array.from({ length: options.names }, (_, i) => `${prefix}${i}`);
  const clients: LockingRedis[] = [];
  try {
    const serverInfo = await admin.info('server');
    const persistenceInfo = await admin.info('persistence');
    const field = (info: string, name: string): string | undefined =>
      new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const pid = Number(field(serverInfo, 'process_id'));
    const server = `Redis ${field(serverInfo, 'redis_version') ?? '?'}`;
    const persistence = `aof_enabled:${field(persistenceInfo, 'aof_enabled') ?? '?'}`;

    for (let i = 0; i < options.clients; i++) {
      const client = new Redis(options.url, CONNECTION) as LockingRedis;
      client.on('error', () => undefined);
      client.defineCommand('benchUnlock', { numberOfKeys: 1, lua: UNLOCK_LUA });
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.connect()));

    const base = randomBytes(4).toString('hex');
    const seq = new Array<number>(options.clients).fill(0);
    let endCpu: (() => CpuWindow) | undefined;
    let cpu: CpuWindow | undefined;
    const result = await runClosedLoop({
      workers: options.clients,
      warmupS: options.warmupS,
      durationS: options.durationS,
      maxOps: options.maxOps,
      drainMs: 15_000,
      onMeasureStart: () => {
        endCpu = startCpuWindow(Number.isInteger(pid) && pid > 0 ? { redis: pid } : {});
      },
      onMeasureEnd: () => {
        cpu = endCpu?.();
      },
      op: async (w, step) => {
        const client = clients[w]!;
        const key = keys[w % keys.length]!;
        const token = `${base}-${w}-${++seq[w]!}`;
        // Each lock operation (SET NX, compare-and-delete) timed on its own, as for distsync.
        let sent = performance.now();
        const set = await client.set(key, token, 'PX', 30_000, 'NX');
        step(performance.now() - sent);
        if (set !== 'OK') throw new Error('SET NX: key already held');
        sent = performance.now();
        const deleted = await client.benchUnlock(key, token);
        step(performance.now() - sent);
        if (deleted !== 1) throw new Error('compare-and-delete: not the holder');
      },
    });
    return { status: 'ok', result, cpu, server, persistence, prefix };
  } catch (error) {
    return { status: 'failed', reason: messageOf(error) };
  } finally {
    for (const client of clients) client.disconnect();
    try {
      if (admin.status === 'ready') await admin.del(...keys);
    } catch {
      // Best effort: the keys expire after 30 s anyway.
    }
    admin.disconnect();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
