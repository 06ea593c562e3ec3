/**
 * Starts and stops a local cluster of `distsync start` child processes on loopback.
 * Used by `distsync dev` and by the multi-process tests: free ports, generated secrets,
 * health polling with a deadline, and a stop that kills every child it started, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** True when nothing listens on host:port right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** A port the OS reports free (bind to 0, read it, release it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function pickPorts(count: number, basePort: number | undefined): Promise<number[]> {
  const ports: number[] = [];
  if (basePort === undefined) {
    while (ports.length < count) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    return ports;
  }
  for (let port = basePort; ports.length < count && port < basePort + 1000; port++) {
    if (await isPortFree(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free ports from ${basePort}`);
  return ports;
}

export function httpGetStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export interface LocalNodeSpec {
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
}

export interface LocalClusterOptions {
  readonly nodes: number;
  readonly dataRoot: string;
  readonly basePort?: number;
  readonly idPrefix?: string;
  readonly logLevel?: string;
  /** Extra `start` flags for every node (e.g. faster heartbeats in tests). */
  readonly extraArgs?: readonly string[];
  /** Where child output goes: inherit with a prefix, or collect only. */
  readonly echoOutput?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LocalNode extends LocalNodeSpec {
  /** `start` flags for this node only (e.g. --join for a node added later). */
  readonly extraArgs: readonly string[];
  child: ChildProcess | undefined;
  /** Last lines the child wrote to stderr/stdout, for error reports. */
  readonly output: string[];
  readonly url: string;
}

const OUTPUT_LINES_KEPT = 200;

export class LocalCluster {
  readonly adminToken = randomSecret();
  readonly readToken = randomSecret();
  readonly writeToken = randomSecret();
  readonly clusterSecret = randomSecret(32);
  readonly nodes: LocalNode[] = [];

  private constructor(private readonly options: LocalClusterOptions) {}

  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(options);
    const ports = await pickPorts(options.nodes, options.basePort);
    for (let i = 0; i < options.nodes; i++) {
      const id = `${options.idPrefix ?? 'n'}${i + 1}`;
      const port = ports[i]!;
      cluster.nodes.push({
        id,
        port,
        dataDir: path.join(options.dataRoot, id),
        child: undefined,
        output: [],
        url: `http://127.0.0.1:${port}`,
        extraArgs: [],
      });
    }
    return cluster;
  }

  node(id: string): LocalNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Registers one more node (not started) on a free port, with flags of its own. */
  async addNode(id: string, extraArgs: readonly string[] = []): Promise<LocalNode> {
    if (this.nodes.some((n) => n.id === id)) throw new Error(`node ${id} exists`);
    const used = new Set(this.nodes.map((n) => n.port));
    let port = await freePort();
    while (used.has(port)) port = await freePort();
    const node: LocalNode = {
      id,
      port,
      dataDir: path.join(this.options.dataRoot, id),
      child: undefined,
      output: [],
      url: `http://127.0.0.1:${port}`,
      extraArgs,
    };
    this.nodes.push(node);
    return node;
  }

  /** Starts one node's process (again); resolves when the process is spawned. */
  spawnNode(id: string): LocalNode {
    const node = this.node(id);
    if (node.child && node.child.exitCode === null && node.child.signalCode === null) {
      throw new Error(`node ${id} is already running`);
    }
    const peers = this.nodes
      .filter((n) => n.id !== id)
      .map((n) => `${n.id}=127.0.0.1:${n.port}`)
      .join(',');
    const args = [
      MAIN_SCRIPT,
      'start',
      '--id', id,
      '--listen', `127.0.0.1:${node.port}`,
      '--data-dir', node.dataDir,
      '--log-level', this.options.logLevel ?? 'info',
      ...(peers ? ['--peers', peers] : []),
      ...(this.options.extraArgs ?? []),
      ...node.extraArgs,
    ];
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        ...this.options.env,
        DISTSYNC_CLUSTER_SECRET: this.clusterSecret,
        DISTSYNC_TOKENS: `admin:${this.adminToken},write:${this.writeToken},read:${this.readToken}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    node.output.length = 0;
    const collect = (stream: NodeJS.ReadableStream | null, echo: NodeJS.WritableStream) => {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          node.output.push(line);
          if (node.output.length > OUTPUT_LINES_KEPT) node.output.shift();
          if (this.options.echoOutput) echo.write(`[${id}] ${line}\n`);
        }
      });
    };
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    node.child = child;
    return node;
  }

  /** Waits until GET /health answers 200, or throws with the child's last output. */
  async waitHealthy(id: string, timeoutMs = 15_000): Promise<void> {
    const node = this.node(id);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const child = node.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `node ${id} exited before it was healthy (code ${child?.exitCode}, signal ${child?.signalCode}):\n` +
            node.output.slice(-20).join('\n'),
        );
      }
      if ((await httpGetStatus(`${node.url}/health`)) === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`node ${id} was not healthy within ${timeoutMs} ms:\n${node.output.slice(-20).join('\n')}`);
  }

  async startAll(timeoutMs = 15_000): Promise<void> {
    for (const node of this.nodes) this.spawnNode(node.id);
    await Promise.all(this.nodes.map((n) => this.waitHealthy(n.id, timeoutMs)));
  }

  /** Sends a signal to one node's process and waits for it to exit. */
  async signal(id: string, signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
    const child = this.node(id).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops every child this cluster started: SIGTERM, then SIGKILL after the grace period. */
  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGCONT'); // a paused child cannot handle SIGTERM
        await this.signal(node.id, 'SIGTERM', graceMs);
      }),
    );
  }
}
