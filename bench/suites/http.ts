/**
 * The HTTP suite: one small GraphQL mutation with variables, measured against four targets,
 * one server process at a time (the others are stopped, so the measured server has the
 * machine's cores to share only with the load generator):
 *   1 bare node:http         the floor of HTTP cost
 *   2 graphql-js ceiling     the least a correct GraphQL POST handler does (the denominator)
 *   3 node POST /graphql     the distsync node's HTTP path
 *   4 node graphql-ws        the same mutation over graphql-ws on the node
 * A target that fails (wrong answers, errors, a server that dies) is reported as FAILED and
 * makes the suite fail; 3 and 4 are skipped, with the reason, while the node CLI is not built.
 */
import { watchCpu } from '../lib/cpu-watch.js';
import { runHttpLoad } from '../lib/http-load.js';
import { probeHttp } from '../lib/http-probe.js';
import { PING_BODY, PING_OPERATION_NAME, PING_QUERY, PING_VARIABLES, pingBodyProblem, pingResultProblem } from '../lib/ping.js';
import {
  nodeCliMissingReason,
  randomSecret,
  startNodeServer,
  startScriptServer,
  type RunningServer,
} from '../lib/servers.js';
import type { Suite, SuiteContext, SuiteOutcome } from '../lib/suite.js';
import { runWsLoad } from '../ws-load.js';
import { printHttpReport, writeHttpReport, type TargetKey, type TargetOutcome, type TargetReport } from './http-report.js';

/**
 * autocannon runs are bounded by time only; latency samples past this many (32 MiB of floats,
 * minutes at loopback rates) are counted as dropped rather than kept.
 */
const HTTP_MAX_SAMPLES = 4_000_000;

interface Target {
  readonly key: TargetKey;
  readonly label: string;
  /** Why it cannot run on this checkout, checked just before it would start. */
  readonly skipReason?: () => string | undefined;
  readonly start: (token: string) => Promise<RunningServer>;
  readonly load: 'http' | 'ws';
}

const TARGETS: readonly Target[] = [
  {
    key: 'bare',
    label: '1 bare node:http',
    start: () => startScriptServer('bare-http', 'bench/servers/bare-http.ts'),
    load: 'http',
  },
  {
    key: 'ceiling',
    label: '2 graphql-js ceiling',
    start: (token) => startScriptServer('graphql-ceiling', 'bench/servers/graphql-ceiling.ts', { BENCH_TOKEN: token }),
    load: 'http',
  },
  {
    key: 'nodeHttp',
    label: '3 node POST /graphql',
    skipReason: nodeCliMissingReason,
    start: (token) => startNodeServer({ id: 'b1', token }),
    load: 'http',
  },
  {
    key: 'nodeWs',
    label: '4 node graphql-ws (ops/s)',
    skipReason: nodeCliMissingReason,
    start: (token) => startNodeServer({ id: 'b1', token }),
    load: 'ws',
  },
];

export const httpSuite: Suite = {
  name: 'http',
  description: 'GraphQL mutation over HTTP and graphql-ws: floor, ceiling, node',
  run: runHttpSuite,
};

export async function runHttpSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const token = randomSecret(16);
  // Targets run in rounds (1 2 3 4, 1 2 3 4, …) so each ratio compares figures taken minutes
  // apart at most; a failed target ends the run after its round.
  const rounds: TargetReport[][] = [];
  for (let round = 1; round <= context.options.rounds; round++) {
    const reports: TargetReport[] = [];
    for (const target of TARGETS) {
      context.progress(`round ${round} of ${context.options.rounds}`);
      const outcome = await runTarget(target, token, context);
      if (outcome.status !== 'ok') context.progress(`${target.label}: ${outcome.status.toUpperCase()}: ${outcome.reason}`);
      reports.push({ key: target.key, label: target.label, outcome });
    }
    rounds.push(reports);
    if (reports.some((r) => r.outcome.status === 'failed')) break;
  }
  printHttpReport(rounds, context);
  const file = writeHttpReport(rounds, context);
  context.out(`results written to ${file}`);
  return { ok: rounds.every((reports) => reports.every((r) => r.outcome.status !== 'failed')) };
}

async function runTarget(target: Target, token: string, context: SuiteContext): Promise<TargetOutcome> {
  const skipped = target.skipReason?.();
  if (skipped !== undefined) return { status: 'skipped', reason: skipped };
  const { options } = context;
  let server: RunningServer | undefined;
  try {
    context.progress(`${target.label}: starting server`);
    server = await target.start(token);
    const url = `http://127.0.0.1:${server.port}/graphql`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    // Node targets: /health says live; this waits until the mutation itself is answered right.
    await probeHttp({ url, headers, body: PING_BODY, verify: pingBodyProblem, timeoutMs: 15_000 });
    context.progress(
      `${target.label}: pid ${server.child.pid}, port ${server.port}; warmup ${options.warmupS} s, measuring ${options.durationS} s`,
    );
    const cpuUsed = watchCpu(server.child.pid);
    const result =
      target.load === 'http'
        ? await runHttpLoad({
            url,
            method: 'POST',
            headers,
            body: PING_BODY,
            durationS: options.durationS,
            warmupS: options.warmupS,
            connections: options.connections,
            maxSamples: HTTP_MAX_SAMPLES,
            verify: pingBodyProblem,
          })
        : await runWsLoad({
            url: `ws://127.0.0.1:${server.port}/graphql`,
            connectionParams: { authorization: `Bearer ${token}` },
            payload: { query: PING_QUERY, variables: { ...PING_VARIABLES }, operationName: PING_OPERATION_NAME },
            connections: options.connections,
            durationS: options.durationS,
            warmupS: options.warmupS,
            maxOps: options.maxOps,
            verify: pingResultProblem,
          });
    if (server.child.hasExited()) throw new Error(`${server.name} exited during the run:\n${server.child.outputTail()}`);
    return { status: 'ok', result, cpu: cpuUsed() };
  } catch (error) {
    return { status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await server?.stop();
  }
}
