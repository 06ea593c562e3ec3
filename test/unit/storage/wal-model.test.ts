/**
 * Property test: random sequences of appends (with overwrites), hard-state updates, snapshots
 * (including installs beyond the log and conflicting ones), clean reopens and reopens after a
 * torn write, checked against an in-memory model of the Raft log after every reopen.
 * Replay a failure with WAL_PROPERTY_SEED=<seed printed below> (and the path fast-check prints).
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Wal, type HardState, type LogEntry, type Snapshot, type WalOptions } from '../../../src/storage/index.js';
import { plain, segmentFiles, tempDir } from './helpers.js';

type Command =
  | { kind: 'append'; back: number; count: number; bump: boolean; withHardState: boolean; concurrent: boolean }
  | { kind: 'hardState'; bump: boolean; vote: string; commitPct: number }
  | { kind: 'snapshot'; pct: number; beyond: number; conflict: boolean }
  | { kind: 'reopen' }
  | { kind: 'tornReopen'; garbage: Uint8Array };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 })),
      count: fc.integer({ min: 1, max: 4 }),
      bump: fc.boolean(),
      withHardState: fc.boolean(),
      concurrent: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hardState' as const),
      bump: fc.boolean(),
      vote: fc.constantFrom('', 'n1', 'n2', 'nœud-3'),
      commitPct: fc.integer({ min: 0, max: 100 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('snapshot' as const),
      pct: fc.integer({ min: 0, max: 100 }),
      beyond: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }),
      conflict: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tornReopen' as const), garbage: fc.uint8Array({ minLength: 1, maxLength: 40 }) }) },
);

class Model {
  entries: LogEntry[] = [];
  snapshot: Snapshot | undefined;
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  maxTerm = 1;
  private seq = 0;

  get snapIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  get last(): number {
    return this.entries.at(-1)?.index ?? this.snapIndex;
  }

  termAt(index: number): number {
    if (index === this.snapIndex) return this.snapshot?.metadata.term ?? 0;
    return this.entries.find((e) => e.index === index)?.term ?? 0;
  }

  makeEntries(first: number, count: number, term: number): LogEntry[] {
    return Array.from({ length: count }, (_, i) => ({
      index: first + i,
      term,
      type: (['normal', 'confChange', 'noop'] as const)[(this.seq + i) % 3] ?? 'normal',
      data: new TextEncoder().encode(`${first + i}:${term}:${this.seq++}`),
    }));
  }
}

async function runScenario(commands: readonly Command[], options: WalOptions): Promise<void> {
  const dir = await tempDir();
  const model = new Model();
  let { wal } = await Wal.open(dir, options);
  let inflight: Promise<void>[] = [];
  const settle = async () => {
    await Promise.all(inflight);
    inflight = [];
  };
  const check = async (reopen: (() => Promise<void>) | undefined) => {
    await settle();
    await wal.close();
    await reopen?.();
    const opened = await Wal.open(dir, options);
    wal = opened.wal;
    expect(opened.recovered.hardState).toEqual(model.hardState);
    expect(opened.recovered.snapshot?.metadata).toEqual(model.snapshot?.metadata);
    expect(opened.recovered.snapshot?.data).toEqual(model.snapshot?.data);
    expect(plain(opened.recovered.entries)).toEqual(plain(model.entries));
    expect(wal.stats().lastIndex).toBe(model.last);
  };

  try {
    for (const cmd of commands) {
      switch (cmd.kind) {
        case 'append': {
          const first = Math.max(model.snapIndex + 1, model.last + 1 - cmd.back);
          if (cmd.bump) model.maxTerm++;
          const added = model.makeEntries(first, cmd.count, model.maxTerm);
          model.entries = [...model.entries.filter((e) => e.index < first), ...added];
          if (cmd.withHardState) model.hardState = { term: model.maxTerm, vote: 'n1', commit: Math.max(0, model.last - 1) };
          const p = wal.append({ entries: added, ...(cmd.withHardState ? { hardState: model.hardState } : {}) });
          if (cmd.concurrent) inflight.push(p);
          else await p;
          break;
        }
        case 'hardState': {
          if (cmd.bump) model.maxTerm++;
          model.hardState = { term: model.maxTerm, vote: cmd.vote, commit: Math.floor((model.last * cmd.commitPct) / 100) };
          inflight.push(wal.append({ hardState: model.hardState }));
          break;
        }
        case 'snapshot': {
          let index: number;
          let term: number;
          if (cmd.beyond > 0) {
            index = model.last + cmd.beyond;
            term = model.maxTerm;
          } else {
            if (model.last <= model.snapIndex) break;
            index = model.snapIndex + 1 + Math.floor(((model.last - model.snapIndex - 1) * cmd.pct) / 100);
            term = cmd.conflict ? ++model.maxTerm : model.termAt(index);
          }
          const snap: Snapshot = {
            metadata: { index, term, config: { voters: ['n1', 'n2'], learners: index % 2 ? ['n3'] : [] } },
            data: new TextEncoder().encode(`snapshot-${index}-${term}`),
          };
          const keeps = index <= model.last && model.termAt(index) === term;
          model.entries = keeps ? model.entries.filter((e) => e.index > index) : [];
          model.snapshot = snap;
          await settle();
          await wal.saveSnapshot(snap);
          break;
        }
        case 'reopen':
          await check(undefined);
          break;
        case 'tornReopen':
          // An unacknowledged write torn by a crash: garbage after the last record of the last segment.
          await check(async () => {
            const last = (await segmentFiles(dir)).at(-1);
            if (last) await appendFile(join(dir, last), cmd.garbage);
          });
          break;
        default: {
          const exhaustive: never = cmd;
          throw new Error(`unknown command ${JSON.stringify(exhaustive)}`);
        }
      }
    }
    await check(undefined);
  } finally {
    // A failed check must not leak the open segment's file handle.
    await Promise.allSettled(inflight);
    await wal.close().catch(() => undefined);
  }
}

describe('Wal restart replays to the same state (model-based property)', () => {
  it('matches an in-memory Raft log model across random appends, overwrites, snapshots and reopens', async () => {
    const seed = Number(process.env['WAL_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`wal model property: seed ${seed} (replay with WAL_PROPERTY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 40 }),
        fc.constantFrom<WalOptions>(
          { fsync: 'always', segmentBytes: 160 },
          { fsync: 'always', segmentBytes: 600 },
          { fsync: 'batch', batchWindowMs: 1, segmentBytes: 300 },
          { fsync: 'always' },
        ),
        runScenario,
      ),
      { seed, numRuns: Number(process.env['WAL_PROPERTY_RUNS'] ?? 60) },
    );
  }, 60_000);
});
