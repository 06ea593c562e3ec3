/**
 * graphql-ws load: C connections made with the `graphql-ws` client (`graphql-transport-ws`
 * subprotocol, `ws` as the WebSocket), each running one operation at a time back to back (one
 * in flight per connection, like autocannon with pipelining 1). An unmeasured warmup, then a
 * measured window bounded by time AND by a maximum operation count.
 *
 * Latency of one operation = from `subscribe` to `complete`, on the monotonic clock; every
 * measured latency goes into a preallocated array and percentiles are exact. Only operations
 * that start inside the measured window count; throughput = those operations / (time from the
 * window's start until the last of them completed).
 *
 * Any error (a refused connection, a socket closed by the server, an `error` message, a wrong
 * result) is counted; the run stops early after `bailoutErrors` and `runWsLoad` throws with
 * the first problem, so a run that measured failures never produces a number.
 */
import { performance } from 'node:perf_hooks';
import { createClient, type Client, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import { LatencyRecorder, type LatencySummary } from './lib/percentiles.js';

export interface WsLoadOptions {
  /** ws://host:port/path */
  readonly url: string;
  readonly connectionParams: Readonly<Record<string, unknown>>;
  readonly payload: SubscribePayload;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Cap on measured operations; the window ends early when reached. */
  readonly maxOps: number;
  /** Why one result is wrong, or undefined when it is right. */
  readonly verify: (result: unknown) => string | undefined;
  readonly connectTimeoutMs?: number;
  readonly bailoutErrors?: number;
}

export interface WsLoadResult {
  readonly opsPerSec: number;
  readonly totalOps: number;
  readonly durationS: number;
  readonly latency: LatencySummary;
  /** CPU time of this (load generator) process per measured operation, in µs. */
  readonly loadgenCpuUsPerOp: number;
}

type Phase = 'warmup' | 'measure' | 'stop';

/** How long operations still in flight may take to finish once the window has ended. */
const DRAIN_MS = 10_000;

export async function runWsLoad(options: WsLoadOptions): Promise<WsLoadResult> {
  const recorder = new LatencyRecorder(options.maxOps, options.maxOps);
  const bailout = options.bailoutErrors ?? 100;
  let phase: Phase = options.warmupS > 0 ? 'warmup' : 'measure';
  let errors = 0;
  let inFlight = 0;
  let firstProblem: string | undefined;
  let measureStart = performance.now();
  let lastMeasuredEnd = measureStart;
  let cpuAtStart = process.cpuUsage();
  let cpu: NodeJS.CpuUsage | undefined;
  let signalStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (signalStopped = resolve));
  const stop = (): void => {
    phase = 'stop';
    signalStopped();
  };
  const fail = (problem: string): void => {
    errors++;
    firstProblem ??= problem;
    if (errors >= bailout) stop();
  };

  const clients: Client[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < options.connections; i++) clients.push(connect(options, () => phase === 'stop', fail));
    await Promise.all(clients.map((client) => whenConnected(client, options.connectTimeoutMs ?? 10_000)));

    const startMeasuring = (): void => {
      if (phase !== 'warmup') return;
      phase = 'measure';
      measureStart = performance.now();
      lastMeasuredEnd = measureStart;
      cpuAtStart = process.cpuUsage();
      timers.push(setTimeout(stop, options.durationS * 1000));
    };
    if (phase === 'warmup') timers.push(setTimeout(startMeasuring, options.warmupS * 1000));
    else timers.push(setTimeout(stop, options.durationS * 1000));

    const loops = Promise.all(
      clients.map(async (client) => {
        while (phase !== 'stop') {
          const measured = phase === 'measure';
          inFlight++;
          const started = performance.now();
          const problem = await runOnce(client, options);
          const ended = performance.now();
          inFlight--;
          if (problem !== undefined) {
            fail(problem);
            continue;
          }
          if (!measured) continue;
          recorder.record(ended - started);
          if (ended > lastMeasuredEnd) lastMeasuredEnd = ended;
          if (recorder.size >= options.maxOps) stop();
        }
      }),
    );
    // A server that stops answering must not hang the bench: once the window has ended,
    // operations still unanswered after DRAIN_MS fail the run.
    const drainDeadline = stopped.then(
      () =>
        new Promise<never>((_resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`graphql-ws: ${inFlight} operations unanswered ${DRAIN_MS} ms after the run ended`)),
            DRAIN_MS,
          );
          // unref: when stop() first happens in `finally` this timer is made after the clearing.
          timers.push(timer.unref());
        }),
    );
    await Promise.race([loops, drainDeadline]);
  } finally {
    cpu = process.cpuUsage(cpuAtStart);
    stop();
    for (const timer of timers) clearTimeout(timer);
    await disposeAll(clients);
  }

  if (errors > 0) throw new Error(`graphql-ws: ${errors} failed operations/connections; first problem: ${firstProblem}`);
  const latency = recorder.summary();
  const durationS = (lastMeasuredEnd - measureStart) / 1000;
  if (latency.samples === 0 || durationS <= 0) throw new Error('graphql-ws: no operation completed in the measured window');
  const cpuUs = cpu.user + cpu.system;
  return {
    opsPerSec: latency.samples / durationS,
    totalOps: latency.samples,
    durationS,
    latency,
    loadgenCpuUsPerOp: cpuUs / latency.samples,
  };
}

function connect(options: WsLoadOptions, stopping: () => boolean, fail: (problem: string) => void): Client {
  return createClient({
    url: options.url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { ...options.connectionParams },
    onNonLazyError: (error) => fail(`connection failed: ${describe(error)}`),
    on: {
      closed: (event) => {
        if (!stopping()) fail(`socket closed by the server: ${describe(event)}`);
      },
    },
  });
}

/**
 * Closes every client's socket. dispose() awaits a pending connection attempt and rejects with
 * its close event when that attempt was refused: swallowed here (the refusal was already
 * counted), and bounded in time so a server that never answers cannot hold the bench.
 */
async function disposeAll(clients: readonly Client[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const disposals = clients.map((client) => Promise.resolve(client.dispose()).catch(() => undefined));
  await Promise.race([Promise.all(disposals), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
  clearTimeout(timer);
}

function whenConnected(client: Client, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error(`graphql-ws: no connection_ack within ${timeoutMs} ms`)), timeoutMs);
    const offConnected = client.on('connected', () => settle(undefined));
    const offClosed = client.on('closed', (event) => settle(new Error(`graphql-ws: closed before connection_ack: ${describe(event)}`)));
    function settle(error: Error | undefined): void {
      clearTimeout(timer);
      offConnected();
      offClosed();
      if (error) reject(error);
      else resolve();
    }
  });
}

/** One operation; resolves with why it failed, or undefined. Never rejects. */
function runOnce(client: Client, options: WsLoadOptions): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    let problem: string | undefined = 'completed without a result';
    client.subscribe(options.payload, {
      next: (value) => {
        problem = options.verify(value);
      },
      error: (error) => resolve(describe(error)),
      complete: () => resolve(problem),
    });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return JSON.stringify(error).slice(0, 300);
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `close code ${JSON.stringify(code)}${typeof reason === 'string' && reason ? ` (${reason})` : ''}`;
  }
  return String(error);
}
