/**
 * Where the machine's CPU went while a target ran: this process (the load generator), the
 * server child, and everything else. On a shared 2-core machine a vitest run elsewhere can
 * halve a figure; "other" makes that visible instead of silently skewing the table.
 *
 * Figures are in cores (1.0 = one core busy for the whole window). Machine totals come from
 * os.cpus(); the server's share from /proc/<pid>/stat (Linux; undefined elsewhere, and then
 * "other" is undefined too). Assumes the usual 100 Hz clock tick for /proc times.
 */
import { cpus } from 'node:os';
import { processCpuMs } from './proc-cpu.js';

export interface CpuShares {
  readonly loadgenCores: number;
  readonly serverCores: number | undefined;
  readonly otherCores: number | undefined;
  readonly machineCores: number;
}


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

