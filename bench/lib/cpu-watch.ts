/**
 * Where the machine's CPU went while a target ran: this process (the load generator), the
 * server child, and everything else. On a shared 2-core machine a vitest run elsewhere can
 * halve a figure; "other" makes that visible instead of silently skewing the table.
 *
 * Figures are in cores (1.0 = one core busy for the whole window). Machine totals come from
 * os.cpus(); the server's share from /proc/<pid>/stat (Linux; undefined elsewhere, and then
 * "other" is undefined too). Assumes the usual 100 Hz clock tick for /proc times.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuShares {
  readonly loadgenCores: number;
  readonly serverCores: number | undefined;
  readonly otherCores: number | undefined;
  readonly machineCores: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

export function watchCpu(serverPid: number): () => CpuShares {
  const wallStart = performance.now();
  const machineStart = machineBusyMs();
  const ownStart = process.cpuUsage();
  const serverStart = processCpuMs(serverPid);
  return () => {
    const wallMs = performance.now() - wallStart;
    const own = process.cpuUsage(ownStart);
    const serverEnd = processCpuMs(serverPid);
    const loadgenCores = (own.user + own.system) / 1000 / wallMs;
    const machineCores = (machineBusyMs() - machineStart) / wallMs;
    const serverCores =
      serverStart === undefined || serverEnd === undefined ? undefined : (serverEnd - serverStart) / wallMs;
    return {
      loadgenCores,
      serverCores,
      otherCores: serverCores === undefined ? undefined : Math.max(0, machineCores - loadgenCores - serverCores),
      machineCores,
    };
  };
}

function machineBusyMs(): number {
  let busy = 0;
  for (const { times } of cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}

/** utime + stime of a process in ms, or undefined where /proc is not available. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
