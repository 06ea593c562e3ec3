/**
 * Test harness for WsPeerTransport over real sockets on 127.0.0.1: http servers on port 0 that
 * hand `/cluster` upgrades to a transport, pino loggers that write into an array, and one
 * cleanup that closes everything a test opened (even when the test failed).
 *
 * Every node gets the harness's cluster id, its own fresh incarnation and its own in-memory pins
 * unless the test passes others (a node "restarted with its data dir" reuses its identity and
 * pins: `h.node(id, server, peers, { identity: old.identity, incarnations: old.incarnations })`).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Envelope } from '../../../src/transport/envelope.js';
import { MemoryIncarnationPins } from '../../../src/transport/incarnation-pins.js';
import type { IncarnationPins, LinkStateChange, NodeIdentity, PeerAddress } from '../../../src/transport/types.js';
import { WsPeerTransport, type WsPeerTransportOptions } from '../../../src/transport/ws-transport.js';

export const SECRET = 'test-cluster-secret-6f1d';
/** The cluster id every harness node shares unless a test says otherwise. */
export const CLUSTER_ID = 'test-cluster-4b7e';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface LogCapture {
  readonly logger: Logger;
  readonly lines: LogLine[];
  /** Every line as printed, to check what must never appear. */
  readonly raw: string[];
}

export function captureLogs(): LogCapture {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  /** Where `/cluster` upgrades go; anything else (or no handler) is destroyed. */
  onUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  close(): Promise<void>;
}

export interface TestNode {
  readonly id: string;
  readonly identity: NodeIdentity;
  readonly incarnations: IncarnationPins;
  readonly transport: WsPeerTransport;
  readonly received: Envelope[];
  readonly linkEvents: LinkStateChange[];
  readonly logs: LogCapture;
  readonly server: TestServer;
}

/** Fast timings so reconnects and liveness checks happen within a test's budget. */
export const FAST = {
  backoff: { initialMs: 20, maxMs: 100 },
  pingIntervalMs: 100,
  pingTimeoutMs: 1_000,
} as const;

export class Harness {
  private readonly closers: Array<() => Promise<void>> = [];
  private incarnationCounter = 0;

  constructor(readonly clusterId: string = CLUSTER_ID) {}

  /** A fresh identity in this harness's cluster: a new data dir for node `id`. */
  identity(id: string, clusterId: string = this.clusterId): NodeIdentity {
    return { clusterId, incarnation: `${id}-inc-${++this.incarnationCounter}` };
  }

  async server(port = 0): Promise<TestServer> {
    const server = createServer();
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const test: TestServer = {
      server,
      port: 0,
      address: '',
      onUpgrade: undefined,
      close: () =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          // Upgraded sockets are no longer the http server's: destroy what a test left open.
          for (const socket of sockets) socket.destroy();
        }),
    };
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.url?.startsWith('/cluster') === true && test.onUpgrade !== undefined) test.onUpgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    Object.assign(test, { port: bound, address: `127.0.0.1:${bound}` });
    this.closers.push(() => test.close());
    return test;
  }

  /** A port that was free a moment ago (listen on 0, read it, close). */
  async freePort(): Promise<number> {
    const s = await this.server();
    await s.close();
    return s.port;
  }

  node(
    id: string,
    server: TestServer,
    peers: PeerAddress[],
    options: Partial<Omit<WsPeerTransportOptions, 'selfId' | 'peers' | 'logger'>> = {},
  ): TestNode {
    const logs = captureLogs();
    const identity = options.identity ?? this.identity(id);
    const incarnations = options.incarnations ?? new MemoryIncarnationPins();
    const transport = new WsPeerTransport({
      selfId: id,
      peers,
      clusterSecret: SECRET,
      logger: logs.logger,
      ...FAST,
      ...options,
      identity,
      incarnations,
    });
    const received: Envelope[] = [];
    const linkEvents: LinkStateChange[] = [];
    transport.onMessage((envelope) => received.push(envelope));
    transport.onLinkState((change) => linkEvents.push(change));
    server.onUpgrade = (req, socket, head) => transport.handleUpgrade(req, socket, head);
    this.closers.push(() => transport.close());
    return { id, identity, incarnations, transport, received, linkEvents, logs, server };
  }

  /** Runs `close` at cleanup too (for raw clients and servers a test builds itself). */
  defer(close: () => Promise<void> | void): void {
    this.closers.push(async () => close());
  }

  /** Closes transports first, then servers, newest first. */
  async cleanup(): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    for (const close of closers) await close();
  }
}

export function linesWith(logs: LogCapture, msg: string): LogLine[] {
  return logs.lines.filter((line) => line.msg === msg);
}

/** Handshake refusals a node logged as a server (any message that starts "refused peer handshake"). */
export function refusals(logs: LogCapture, reason?: string): LogLine[] {
  return logs.lines.filter((line) => line.msg.startsWith('refused peer handshake') && (reason === undefined || line['reason'] === reason));
}

/** Failed dials a node logged (any message that starts "peer link failed"). */
export function dialFailures(logs: LogCapture, reason?: string): LogLine[] {
  return logs.lines.filter((line) => line.msg.startsWith('peer link failed') && (reason === undefined || line['reason'] === reason));
}

export function isConnected(node: TestNode, peer: string): boolean {
  return node.transport.stats().find((s) => s.peer === peer)?.connected === true;
}
