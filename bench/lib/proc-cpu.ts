/**
 * CPU used over a window by several processes (the cluster's nodes, a Redis server), by this
 * process (the load generator), and by everything else on the machine, in cores (1.0 = one
 * core busy for the whole window). Linux /proc only (undefined elsewhere); assumes the usual
 * 100 Hz clock tick, like cpu-watch.ts.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuWindow {
  /** Cores per watched process, by label; undefined when /proc could not be read. */
  readonly processes: Readonly<Record<string, number | undefined>>;
  readonly loadgen: number;
  /** Machine busy cores minus the watched processes and the load generator. */
  readonly other: number | undefined;
  readonly machine: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

export function startCpuWindow(pids: Readonly<Record<string, number>>): () => CpuWindow {
  const wallStart = performance.now();
  const machineStart = machineBusyMs();
  const ownStart = process.cpuUsage();
  const starts = Object.fromEntries(Object.entries(pids).map(([label, pid]) => [label, processCpuMs(pid)]));
  return () => {
    const wallMs = performance.now() - wallStart;
    const own = process.cpuUsage(ownStart);
    const loadgen = (own.user + own.system) / 1000 / wallMs;
    const machine = (machineBusyMs() - machineStart) / wallMs;
    const processes: Record<string, number | undefined> = {};
    let known = true;
    let sum = 0;
    for (const [label, pid] of Object.entries(pids)) {
      const start = starts[label];
      const end = processCpuMs(pid);
      const cores = start === undefined || end === undefined ? undefined : (end - start) / wallMs;
      processes[label] = cores;
      if (cores === undefined) known = false;
      else sum += cores;
    }
    return { processes, loadgen, other: known ? Math.max(0, machine - loadgen - sum) : undefined, machine };
  };
}

function machineBusyMs(): number {
  let busy = 0;
  for (const { times } of cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}

/** utime + stime of a process in ms, or undefined where /proc is not available. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
