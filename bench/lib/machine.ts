/**
 * The machine a run was measured on, printed with every result: figures mean nothing without
 * the CPU, core count and Node version beside them.
 */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly node: string;
  readonly os: string;
  readonly memoryGiB: number;
  /** ISO timestamp of the run. */
  readonly date: string;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  readonly loadAvg1m: number;
}

export function machineInfo(now = new Date()): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    node: process.version,
    os: `${osType()} ${release()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    date: now.toISOString(),
    loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel} × ${m.cpuCount} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.date}, load ${m.loadAvg1m} at start`;
}
