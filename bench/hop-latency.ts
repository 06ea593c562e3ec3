/**
 * What one hop between two processes costs on this machine, idle and with its cores busy:
 * a ping-pong of small messages between two child processes over loopback TCP, first alone,
 * then beside `--busy` processes that keep the cores occupied (each alternates a few
 * milliseconds of work with a short sleep, as a loaded node does). A lock operation on a
 * three-node cluster needs several such hops in sequence (client → node → leader → followers
 * → leader → node → client) plus durable writes, so the loaded round trip bounds how low its
 * latency can be when the cores are saturated.
 *
 * Standalone: `npx tsx bench/hop-latency.ts [--seconds 5] [--busy 3]`. Bounded: each phase
 * runs `--seconds`; every child is killed by PID at the end. Loopback only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROLE = process.env['HOP_LATENCY_ROLE'];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** Child: answers every byte it receives with one byte. */
function runEcho(): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk.subarray(0, 1)));
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

/** Child: works `workMs`, sleeps `sleepMs`, until `untilMs` (epoch) — a loaded event loop. */
function runBusy(workMs: number, sleepMs: number, untilMs: number): void {
  const step = (): void => {
    if (Date.now() >= untilMs) process.exit(0);
    const end = performance.now() + workMs;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    setTimeout(step, sleepMs);
  };
  step();
}

/** Child: sends one byte, waits for the answer, repeats for `seconds`; reports round trips. */
function runPinger(port: number, seconds: number): void {
  const socket: Socket = connect(port, '127.0.0.1', () => {
    socket.setNoDelay(true);
    const rtts: number[] = [];
    const end = performance.now() + seconds * 1000;
    let sent = 0;
    const ping = (): void => {
      sent = performance.now();
      socket.write(Buffer.of(1));
    };
    socket.on('data', () => {
      rtts.push(performance.now() - sent);
      if (performance.now() < end && rtts.length < 1_000_000) ping();
      else {
        socket.destroy();
        process.send?.({ rtts });
      }
    });
    ping();
  });
}

interface PhaseResult {
  readonly name: string;
  readonly roundTrips: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

function child(env: Record<string, string>): ChildProcess {
  return fork(process.argv[1]!, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
}

function message<T>(proc: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

async function phase(name: string, seconds: number, busy: number): Promise<PhaseResult> {
  const children: ChildProcess[] = [];
  try {
    const echo = child({ HOP_LATENCY_ROLE: 'echo' });
    children.push(echo);
    const { port } = await message<{ port: number }>(echo);
    const until = Date.now() + (seconds + 2) * 1000;
    for (let i = 0; i < busy; i++) children.push(child({ HOP_LATENCY_ROLE: 'busy', HOP_LATENCY_UNTIL: String(until) }));
    const pinger = child({ HOP_LATENCY_ROLE: 'ping', HOP_LATENCY_PORT: String(port), HOP_LATENCY_SECONDS: String(seconds) });
    children.push(pinger);
    const { rtts } = await message<{ rtts: number[] }>(pinger);
    const sorted = [...rtts].sort((a, b) => a - b);
    return { name, roundTrips: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99) };
  } finally {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  }
}

export async function runHopLatency(options: { seconds: number; busy: number }): Promise<PhaseResult[]> {
  return [
    await phase('idle: two processes ping-pong alone', options.seconds, 0),
    await phase(`loaded: beside ${options.busy} busy processes (4 ms work, 1 ms sleep)`, options.seconds, options.busy),
  ];
}

if (ROLE === 'echo') runEcho();
else if (ROLE === 'busy') runBusy(4, 1, Number(process.env['HOP_LATENCY_UNTIL']));
else if (ROLE === 'ping') runPinger(Number(process.env['HOP_LATENCY_PORT']), Number(process.env['HOP_LATENCY_SECONDS']));
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, busy: { type: 'string' } } });
  const seconds = Math.min(60, Math.max(1, Number(values.seconds ?? 5)));
  const busy = Math.min(16, Math.max(1, Number(values.busy ?? 3)));
  runHopLatency({ seconds, busy }).then(
    (results) => {
      console.log('hop latency: one-byte round trips between two processes over loopback TCP (ms)');
      for (const r of results) {
        console.log(`${r.name.padEnd(56)} ${String(r.roundTrips).padStart(8)} round trips  p50 ${r.p50.toFixed(3)}  p95 ${r.p95.toFixed(3)}  p99 ${r.p99.toFixed(3)}`);
      }
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
