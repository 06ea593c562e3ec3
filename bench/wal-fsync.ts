/**
 * WAL fsync micro-benchmark: raw durable-write loops (the disk's floor) — write + fdatasync,
 * one O_DSYNC write growing the file, one O_DSYNC write into space zero-filled beforehand —
 * then `Wal.append` of single entries awaited one by one (without and with the WAL's
 * preallocation), and 64 concurrent appenders (group commit). CPU per operation is the
 * process's (all threads: the thread pool does the writes). Standalone: `npx tsx bench/wal-fsync.ts [--ms-per-phase N]`; `runWalBench` returns
 * the figures so `npm run bench` can include it later. Bounded: three phases of ~3 s each by
 * default. Uses a temp directory under os.tmpdir() (so it measures that file system), removed
 * at the end.
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Wal } from '../src/storage/index.js';

export interface WalBenchOptions {
  /** Duration of each of the three phases. Default 3000 ms. */
  readonly msPerPhase?: number;
  /** Entry payload size. Default 256 bytes. */
  readonly entryBytes?: number;
  /** Appenders in the group-commit phase. Default 64. */
  readonly concurrency?: number;
  /** Parent directory for the temp dir. Default os.tmpdir(). */
  readonly parentDir?: string;
}

export interface PhaseResult {
  readonly name: string;
  /** Operations acknowledged per second (raw writes, or appended entries). */
  readonly opsPerSec: number;
  readonly fsyncsPerSec: number;
  readonly meanLatencyMs: number;
  /** CPU time of the whole process (all threads) per operation, µs. */
  readonly cpuUsPerOp: number;
}

export interface WalBenchResult {
  readonly entryBytes: number;
  readonly concurrency: number;
  readonly raw: readonly PhaseResult[];
  readonly sequential: readonly PhaseResult[];
  readonly groupCommit: PhaseResult & { readonly entriesPerFsync: number };
}

type RawMode = 'write+fdatasync' | 'dsync-grow' | 'dsync-prezeroed';

const RAW_NAMES: Record<RawMode, string> = {
  'write+fdatasync': 'raw write + fdatasync, file grows',
  'dsync-grow': 'raw O_DSYNC write, file grows',
  'dsync-prezeroed': 'raw O_DSYNC write into zero-filled space',
};

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

async function rawPhase(dir: string, options: { ms: number; bytes: number; mode: RawMode }): Promise<PhaseResult> {
  const dsync = options.mode !== 'write+fdatasync';
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | (dsync ? constants.O_DSYNC : 0);
  const handle = await open(join(dir, `raw-${options.mode}.bin`), flags);
  const buf = Buffer.alloc(options.bytes, 0xab);
  let ops = 0;
  try {
    if (options.mode === 'dsync-prezeroed') {
      // Enough zero-filled space for the phase at any plausible rate (bounded: 64 MiB).
      const zeros = Buffer.alloc(1024 * 1024);
      for (let at = 0; at < 64 * zeros.byteLength; at += zeros.byteLength) await handle.write(zeros, 0, zeros.byteLength, at);
      await handle.datasync();
    }
    const limit = options.mode === 'dsync-prezeroed' ? Math.floor((64 * 1024 * 1024) / buf.byteLength) : Infinity;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < options.ms && ops < limit) {
      await handle.write(buf, 0, buf.byteLength, ops * buf.byteLength);
      if (!dsync) await handle.datasync();
      ops++;
    }
    const seconds = (performance.now() - start) / 1000;
    return { name: RAW_NAMES[options.mode], opsPerSec: ops / seconds, fsyncsPerSec: ops / seconds, meanLatencyMs: (seconds * 1000) / ops, cpuUsPerOp: cpuMicros(cpu) / ops };
  } finally {
    await handle.close();
  }
}

async function walPhase(
  dir: string,
  options: { ms: number; bytes: number; workers: number; name: string; preallocateBytes?: number },
): Promise<PhaseResult & { entriesPerFsync: number }> {
  const { wal } = await Wal.open(dir, { fsync: 'always', ...(options.preallocateBytes === undefined ? {} : { preallocateBytes: options.preallocateBytes }) });
  const data = new Uint8Array(options.bytes).fill(0xcd);
  let next = 0;
  let acked = 0;
  let latencySum = 0;
  const fsyncsBefore = wal.stats().fsyncs;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() - start < options.ms) {
      const t0 = performance.now();
      // The index is taken synchronously, so concurrent appenders still append in order.
      await wal.append({ entries: [{ index: ++next, term: 1, type: 'normal', data }] });
      latencySum += performance.now() - t0;
      acked++;
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpuUsPerOp = cpuMicros(cpu) / acked;
  const fsyncs = wal.stats().fsyncs - fsyncsBefore;
  await wal.close();
  return {
    name: options.name,
    opsPerSec: acked / seconds,
    fsyncsPerSec: fsyncs / seconds,
    meanLatencyMs: latencySum / acked,
    cpuUsPerOp,
    entriesPerFsync: acked / fsyncs,
  };
}

export async function runWalBench(options: WalBenchOptions = {}): Promise<WalBenchResult> {
  const ms = options.msPerPhase ?? 3000;
  const bytes = options.entryBytes ?? 256;
  const concurrency = options.concurrency ?? 64;
  const root = await mkdtemp(join(options.parentDir ?? tmpdir(), 'distsync-wal-bench-'));
  try {
    const raw: PhaseResult[] = [];
    for (const mode of ['write+fdatasync', 'dsync-grow', 'dsync-prezeroed'] as const) raw.push(await rawPhase(root, { ms, bytes, mode }));
    const sequential = [
      await walPhase(join(root, 'seq0'), { ms, bytes, workers: 1, name: 'Wal.append, one at a time, no preallocation', preallocateBytes: 0 }),
      await walPhase(join(root, 'seq'), { ms, bytes, workers: 1, name: 'Wal.append, one at a time' }),
    ];
    const groupCommit = await walPhase(join(root, 'group'), { ms, bytes, workers: concurrency, name: `Wal.append, ${concurrency} concurrent` });
    return { entryBytes: bytes, concurrency, raw, sequential, groupCommit };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function formatWalBench(result: WalBenchResult): string {
  const rows = [...result.raw, ...result.sequential, result.groupCommit].map((p) => [
    p.name,
    Math.round(p.opsPerSec).toLocaleString('en-US'),
    Math.round(p.fsyncsPerSec).toLocaleString('en-US'),
    p.meanLatencyMs.toFixed(3),
    Math.round(p.cpuUsPerOp).toLocaleString('en-US'),
  ]);
  const header = ['phase', 'ops/s', 'durable writes/s', 'mean ms', 'CPU µs/op'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `WAL fsync bench: ${result.entryBytes}-byte entries; CPU is the whole process's, all threads`,
    line(header),
    ...rows.map(line),
    `group commit: ${result.groupCommit.entriesPerFsync.toFixed(1)} entries per fsync`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { 'ms-per-phase': { type: 'string' } } });
  const msPerPhase = values['ms-per-phase'] ? Number(values['ms-per-phase']) : undefined;
  runWalBench(msPerPhase ? { msPerPhase } : {}).then(
    (result) => console.log(formatWalBench(result)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
