/**
 * A bounded proposal load run inside a node (behind --test-hooks), so the Raft benchmark
 * measures consensus — batching, fsync, replication — and not GraphQL. `concurrency`
 * proposers each keep one proposal in flight until `durationMs` passes or `maxProposals`
 * have been made; each proposal's latency is from propose() to its apply on this node.
 */
import { TEST_COUNTER } from '../cluster/test-counter.js';
import type { MetaService } from '../services/meta-service.js';

export interface ProposalLoadOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly maxProposals: number;
  readonly payloadBytes: number;
}

export interface ProposalLoadResult {
  readonly committed: number;
  readonly failed: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly fsyncs: number;
  readonly fsyncsPerSecond: number;
  readonly entriesPerFsync: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runProposalLoad(meta: MetaService, options: ProposalLoadOptions): Promise<ProposalLoadResult> {
  const pad = 'x'.repeat(Math.max(0, options.payloadBytes - 16));
  const latencies = new Float64Array(options.maxProposals);
  let made = 0;
  let committed = 0;
  let failed = 0;
  const fsyncsBefore = meta.walStats().fsyncs;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const proposer = async (): Promise<void> => {
    while (performance.now() < deadline && made < options.maxProposals) {
      made++;
      const t0 = performance.now();
      try {
        await meta.propose(TEST_COUNTER, { add: 1, pad });
        latencies[committed++] = performance.now() - t0;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, proposer));
  const seconds = (performance.now() - started) / 1000;
  const fsyncs = meta.walStats().fsyncs - fsyncsBefore;
  const sorted = latencies.slice(0, committed).sort();
  return {
    committed,
    failed,
    seconds,
    perSecond: committed / seconds,
    latencyMs: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: percentile(sorted, 100),
    },
    fsyncs,
    fsyncsPerSecond: fsyncs / seconds,
    entriesPerFsync: fsyncs > 0 ? committed / fsyncs : Number.NaN,
  };
}
