/**
 * Runs a fixture script (lock-fixtures/*.mjs) as a child process and collects the JSON lines
 * it reports on stdout; `stop` kills it by its PID if it is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait-for.js';

export interface Report {
  readonly event: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

export interface Fixture {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly reports: Report[];
  readonly stderr: string[];
  /** Waits for the first report of `event` that `where` accepts (throws with the child's output after timeoutMs). */
  next(event: string, timeoutMs?: number, where?: (r: Report) => boolean): Promise<Report>;
  send(line: string): void;
  exited(): boolean;
  stop(): Promise<void>;
}

export function runFixture(script: string, env: Record<string, string>): Fixture {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  const pid = child.pid;
  const reports: Report[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        reports.push(JSON.parse(line) as Report);
      } catch {
        stderr.push(`stdout: ${line}`);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => stderr.push(chunk));
  child.stdin.on('error', () => undefined);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid,
    reports,
    stderr,
    async next(event, timeoutMs = 10_000, where = () => true) {
      try {
        return await waitFor(() => reports.find((r) => r.event === event && where(r)), timeoutMs, `${script} reports ${event}`);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nreports: ${JSON.stringify(reports)}\nstderr: ${stderr.join('')}`, { cause: error });
      }
    },
    send(line) {
      child.stdin.write(`${line}\n`);
    },
    exited,
    async stop() {
      if (exited()) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
      await gone;
    },
  };
}
