/**
 * WAL fsync micro-benchmark: (a) a raw 256-byte write + fdatasync loop (the disk's floor),
 * (b) `Wal.append` of single entries awaited one by one, (c) 64 concurrent appenders (group
 * commit). Standalone: `npx tsx bench/wal-fsync.ts [--ms-per-phase N]`; `runWalBench` returns
 * the figures so `npm run bench` can include it later. Bounded: three phases of ~3 s each by
 * default. Uses a temp directory under os.tmpdir() (so it measures that file system), removed
 * at the end.
 */
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
}

export interface WalBenchResult {
  readonly entryBytes: number;
  readonly concurrency: number;
  readonly raw: PhaseResult;
  readonly sequential: PhaseResult;
  readonly groupCommit: PhaseResult & { readonly entriesPerFsync: number };
}

async function rawFsyncLoop(dir: string, options: { ms: number; bytes: number }): Promise<PhaseResult> {
  const handle = await open(join(dir, 'raw.bin'), 'w');
  const buf = Buffer.alloc(options.bytes, 0xab);
  let ops = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < options.ms) {
      await handle.write(buf, 0, buf.byteLength, ops * buf.byteLength);
      await handle.datasync();
      ops++;
    }
  } finally {
    await handle.close();
  }
  const seconds = (performance.now() - start) / 1000;
  return { name: 'raw write+fdatasync', opsPerSec: ops / seconds, fsyncsPerSec: ops / seconds, meanLatencyMs: (seconds * 1000) / ops };
}

async function walPhase(dir: string, options: { ms: number; bytes: number; workers: number; name: string }): Promise<PhaseResult & { entriesPerFsync: number }> {
  const { wal } = await Wal.open(dir, { fsync: 'always' });
  const data = new Uint8Array(options.bytes).fill(0xcd);
  let next = 0;
  let acked = 0;
  let latencySum = 0;
  const fsyncsBefore = wal.stats().fsyncs;
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
  const fsyncs = wal.stats().fsyncs - fsyncsBefore;
  await wal.close();
  return {
    name: options.name,
    opsPerSec: acked / seconds,
    fsyncsPerSec: fsyncs / seconds,
    meanLatencyMs: latencySum / acked,
    entriesPerFsync: acked / fsyncs,
  };
}

export async function runWalBench(options: WalBenchOptions = {}): Promise<WalBenchResult> {
  const ms = options.msPerPhase ?? 3000;
  const bytes = options.entryBytes ?? 256;
  const concurrency = options.concurrency ?? 64;
  const root = await mkdtemp(join(options.parentDir ?? tmpdir(), 'distsync-wal-bench-'));
  try {
    const raw = await rawFsyncLoop(root, { ms, bytes });
    const sequential = await walPhase(join(root, 'seq'), { ms, bytes, workers: 1, name: 'Wal.append, one at a time' });
    const groupCommit = await walPhase(join(root, 'group'), { ms, bytes, workers: concurrency, name: `Wal.append, ${concurrency} concurrent` });
    return { entryBytes: bytes, concurrency, raw, sequential, groupCommit };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function formatWalBench(result: WalBenchResult): string {
  const rows = [result.raw, result.sequential, result.groupCommit].map((p) => [
    p.name,
    Math.round(p.opsPerSec).toLocaleString('en-US'),
    Math.round(p.fsyncsPerSec).toLocaleString('en-US'),
    p.meanLatencyMs.toFixed(3),
  ]);
  const header = ['phase', 'ops/s', 'fsyncs/s', 'mean ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `WAL fsync bench: ${result.entryBytes}-byte entries`,
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
