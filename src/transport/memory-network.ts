/**
 * An in-memory network of PeerTransports for deterministic tests and simulation: one
 * MemoryNetwork, one transport per node id, faults injected from a seeded Random.
 *
 * Guarantees:
 * - Deterministic: every delay, drop and duplicate is drawn from the given Random and every
 *   delivery runs on the given Scheduler. With a ManualScheduler, the same seed and the same calls
 *   give the same deliveries in the same order at the same virtual times.
 * - Messages cross the "wire" as encoded envelopes (encodeEnvelope / decodeEnvelope), exactly as
 *   over WebSocket: a body that does not survive JSON fails here too, and no object is shared
 *   between nodes.
 * - Link semantics follow the real transport's connections: a message is delivered only if the
 *   link between sender and receiver stayed up for its whole flight. A partition, crash or close
 *   that cuts a link loses everything in flight on it, even if the link is back before the
 *   delivery time (as a broken TCP connection loses its buffers).
 * - With minDelayMs === maxDelayMs and reorderRate 0, each link is FIFO; reordering comes only
 *   from varying delays and reorderRate.
 * - Unbounded: send never returns 'full' (tests that need backpressure use WsPeerTransport).
 *   It returns 'unknown-peer' only for ids that are not on the network (or after close()).
 *   Messages lost to faults, partitions or crashes still return 'queued': a sender cannot tell.
 *
 * Partitions: `partition(groups...)` puts each listed id in its group; every id not named in any
 * group (including transports created later) belongs to one extra, shared "unnamed" group.
 * `isolate(id)` moves one id into a group of its own, leaving the rest as they are.
 *
 * Link events: every change of reachability (partition, heal, isolate, crash, restart, a
 * transport created or closed) is reported synchronously to each live end of each link that went
 * up or down; a crashed node hears nothing until its restart, when it hears its links come up.
 *
 * A message handler that throws is not caught: the exception surfaces from the scheduler, so a
 * test sees its bug (every handler still runs first).
 */
import type { Random } from '../util/random.js';
import type { Scheduler } from '../util/scheduler.js';
import { ENVELOPE_VERSION, decodeEnvelope, encodeEnvelope, type Envelope, type OutgoingMessage } from './envelope.js';
import type { LinkStateChange, PeerTransport, SendResult } from './types.js';

export interface FaultConfig {
  /** Probability a message is lost at send time. */
  readonly dropRate: number;
  /** Probability a message is delivered twice (the copy has its own delay). */
  readonly duplicateRate: number;
  /** Probability a message gets an extra delay of maxDelayMs+1 .. 2*maxDelayMs+1. */
  readonly reorderRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export interface MemoryNetworkOptions {
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly faults?: Partial<FaultConfig>;
}

export interface MemoryNetworkStats {
  /** Accepted send() calls (returned 'queued'). */
  readonly sent: number;
  readonly delivered: number;
  /** Lost to dropRate, a partition, a crash or a close, at send time or in flight. */
  readonly dropped: number;
  /** Extra copies created by duplicateRate. */
  readonly duplicated: number;
  /** Scheduled and not yet delivered or lost. sent + duplicated = delivered + dropped + inFlight. */
  readonly inFlight: number;
}

const DEFAULT_FAULTS: FaultConfig = { dropRate: 0, duplicateRate: 0, reorderRate: 0, minDelayMs: 0, maxDelayMs: 0 };
const UNNAMED_GROUP = -1;

interface Node {
  readonly id: string;
  crashed: boolean;
  readonly messageHandlers: Set<(envelope: Envelope) => void>;
  readonly linkHandlers: Set<(change: LinkStateChange) => void>;
}

export class MemoryNetwork {
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private faults: FaultConfig;
  /** Creation order; iteration order is part of determinism. */
  private readonly nodes = new Map<string, Node>();
  /** id → partition group; undefined when healed (everyone together). */
  private groups: Map<string, number> | undefined;
  private groupSeq = 0;
  /** Bumped whenever a link goes down, so messages sent before that are recognised as lost. */
  private readonly linkGeneration = new Map<string, number>();
  private counters = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(options: MemoryNetworkOptions) {
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.faults = checkFaults({ ...DEFAULT_FAULTS, ...options.faults });
  }

  createTransport(id: string): PeerTransport {
    if (id === '') throw new Error('MemoryNetwork: id must not be empty');
    if (this.nodes.has(id)) throw new Error(`MemoryNetwork: transport ${id} already exists`);
    const node: Node = { id, crashed: false, messageHandlers: new Set(), linkHandlers: new Set() };
    this.changeTopology(() => this.nodes.set(id, node));
    return new MemoryTransport(node, {
      peers: () => [...this.nodes.keys()].filter((other) => other !== id),
      send: (to, message) => this.send(node, to, message),
      leave: () => this.remove(node),
    });
  }

  setFaults(faults: Partial<FaultConfig>): void {
    this.faults = checkFaults({ ...this.faults, ...faults });
  }

  getFaults(): FaultConfig {
    return this.faults;
  }

  /** Splits the network; ids not named form one extra group together (see the header). */
  partition(...groups: readonly (readonly string[])[]): void {
    const next = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const id of group) {
        if (next.has(id)) throw new Error(`MemoryNetwork.partition: ${id} is in two groups`);
        next.set(id, index);
      }
    });
    this.changeTopology(() => {
      this.groups = next;
      this.groupSeq = groups.length;
    });
  }

  /** Cuts one node off from everyone; other groups stay as they are. */
  isolate(id: string): void {
    this.requireNode(id, 'isolate');
    this.changeTopology(() => {
      this.groups ??= new Map();
      this.groups.set(id, this.groupSeq++);
    });
  }

  heal(): void {
    this.changeTopology(() => {
      this.groups = undefined;
    });
  }

  /** The node stops sending and receiving; everything in flight to or from it is lost. */
  crash(id: string): void {
    const node = this.requireNode(id, 'crash');
    this.changeTopology(() => {
      node.crashed = true;
    });
  }

  restart(id: string): void {
    const node = this.requireNode(id, 'restart');
    this.changeTopology(() => {
      node.crashed = false;
    });
  }

  /** Whether a message from `a` to `b` sent now could be delivered (ignoring random drops). */
  reachable(a: string, b: string): boolean {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    if (na === undefined || nb === undefined || a === b || na.crashed || nb.crashed) return false;
    return this.groupOf(a) === this.groupOf(b);
  }

  stats(): MemoryNetworkStats {
    const { sent, delivered, dropped, duplicated } = this.counters;
    return { sent, delivered, dropped, duplicated, inFlight: sent + duplicated - delivered - dropped };
  }

  private send(from: Node, to: string, message: OutgoingMessage): SendResult {
    if (this.nodes.get(from.id) !== from || to === from.id || !this.nodes.has(to)) return 'unknown-peer';
    const frame = encodeEnvelope({ v: ENVELOPE_VERSION, from: from.id, to, group: message.group, type: message.type, body: message.body });
    this.counters.sent++;
    if (!this.reachable(from.id, to) || this.random.chance(this.faults.dropRate)) {
      this.counters.dropped++;
      return 'queued';
    }
    const generation = this.linkGeneration.get(linkKey(from.id, to)) ?? 0;
    this.schedule(from.id, to, frame, generation);
    if (this.random.chance(this.faults.duplicateRate)) {
      this.counters.duplicated++;
      this.schedule(from.id, to, frame, generation);
    }
    return 'queued';
  }

  private remove(node: Node): void {
    if (this.nodes.get(node.id) !== node) return;
    this.changeTopology(() => this.nodes.delete(node.id));
  }

  private schedule(from: string, to: string, frame: string, generation: number): void {
    const { minDelayMs, maxDelayMs, reorderRate } = this.faults;
    let delay = this.random.int(minDelayMs, maxDelayMs);
    if (this.random.chance(reorderRate)) delay += this.random.int(maxDelayMs + 1, 2 * maxDelayMs + 1);
    const target = this.nodes.get(to);
    this.scheduler.setTimer(delay, () => this.arrive(from, target, frame, generation));
  }

  private arrive(from: string, target: Node | undefined, frame: string, generation: number): void {
    const alive =
      target !== undefined &&
      this.nodes.get(target.id) === target &&
      this.reachable(from, target.id) &&
      (this.linkGeneration.get(linkKey(from, target.id)) ?? 0) === generation;
    if (!alive) {
      this.counters.dropped++;
      return;
    }
    this.counters.delivered++;
    let firstError: unknown;
    let failed = false;
    for (const handler of [...target.messageHandlers]) {
      // Each handler decodes its own copy, as if it had read the frame itself.
      const envelope = decodeEnvelope(frame);
      if (envelope === undefined) throw new Error('MemoryNetwork: undecodable frame (encoder bug)');
      try {
        handler(envelope);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
    if (failed) throw firstError;
  }

  /** Applies a change and tells every live node which of its links went up or down. */
  private changeTopology(change: () => void): void {
    const before = this.upLinks();
    change();
    const after = this.upLinks();
    const at = this.scheduler.now();
    const events: Array<[Node, LinkStateChange]> = [];
    const report = (key: string, state: LinkStateChange['state']): void => {
      const [a, b] = splitKey(key);
      const node = this.nodes.get(a);
      if (node !== undefined && !node.crashed) events.push([node, { peer: b, state, at }]);
    };
    for (const key of before) {
      if (after.has(key)) continue;
      this.linkGeneration.set(key, (this.linkGeneration.get(key) ?? 0) + 1);
      report(key, 'disconnected');
    }
    for (const key of after) if (!before.has(key)) report(key, 'connected');
    for (const [node, event] of events) for (const handler of [...node.linkHandlers]) handler(event);
  }

  /** Ordered pairs "a→b" whose link is up. linkKey(a, b) !== linkKey(b, a): each end hears of it. */
  private upLinks(): Set<string> {
    const up = new Set<string>();
    for (const a of this.nodes.keys()) for (const b of this.nodes.keys()) if (this.reachable(a, b)) up.add(linkKey(a, b));
    return up;
  }

  private groupOf(id: string): number {
    return this.groups?.get(id) ?? UNNAMED_GROUP;
  }

  private requireNode(id: string, what: string): Node {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`MemoryNetwork.${what}: no transport ${id}`);
    return node;
  }
}

/** What a transport may ask of its network (closures, so the network keeps no public internals). */
interface NetworkPort {
  peers(): string[];
  send(to: string, message: OutgoingMessage): SendResult;
  leave(): void;
}

/** One node's face of the network. */
class MemoryTransport implements PeerTransport {
  readonly selfId: string;
  private closed = false;

  constructor(
    private readonly node: Node,
    private readonly port: NetworkPort,
  ) {
    this.selfId = node.id;
  }

  peers(): readonly string[] {
    return this.closed ? [] : this.port.peers();
  }

  send(to: string, message: OutgoingMessage): SendResult {
    return this.closed ? 'unknown-peer' : this.port.send(to, message);
  }

  onMessage(handler: (envelope: Envelope) => void): () => void {
    const wrapped = (envelope: Envelope): void => handler(envelope);
    this.node.messageHandlers.add(wrapped);
    return () => this.node.messageHandlers.delete(wrapped);
  }

  onLinkState(handler: (change: LinkStateChange) => void): () => void {
    const wrapped = (change: LinkStateChange): void => handler(change);
    this.node.linkHandlers.add(wrapped);
    return () => this.node.linkHandlers.delete(wrapped);
  }

  /** Leaves the network (peers see `disconnected`); the id may be created again afterwards. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.node.messageHandlers.clear();
      this.node.linkHandlers.clear();
      this.port.leave();
    }
    return Promise.resolve();
  }
}

function linkKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

function checkFaults(f: FaultConfig): FaultConfig {
  for (const name of ['dropRate', 'duplicateRate', 'reorderRate'] as const) {
    if (!(f[name] >= 0 && f[name] <= 1)) throw new RangeError(`MemoryNetwork: ${name} must be in [0, 1], got ${f[name]}`);
  }
  if (!(Number.isInteger(f.minDelayMs) && Number.isInteger(f.maxDelayMs) && f.minDelayMs >= 0 && f.maxDelayMs >= f.minDelayMs)) {
    throw new RangeError(`MemoryNetwork: need integers 0 <= minDelayMs <= maxDelayMs, got ${f.minDelayMs}, ${f.maxDelayMs}`);
  }
  return f;
}
