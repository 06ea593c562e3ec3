/**
 * A tiny deterministic network of RawNodes for scenario tests: one FIFO queue of messages,
 * synchronous "fsync" (each Ready is persisted, applied and advanced at once), partitions and
 * drop filters, crash/restart from what was persisted. No timers: time is tick().
 */
import { RawNode, type RawNodeOptions } from '../../../src/raft/raw-node.js';
import type { Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot } from '../../../src/raft/types.js';
import { SeededRandom } from '../../../src/util/random.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

export interface TestNode {
  raw: RawNode;
  disk: Disk;
  /** Applied normal entries' data, in order (restored from snapshots). */
  applied: string[];
  appliedIndex: number;
  reads: ReadState[];
}

export type NodeOptions = Partial<Omit<RawNodeOptions, 'id' | 'group' | 'peers' | 'random'>>;

/** A disk holding `terms[i]` at index i+1, each entry's data "<index>@<term>"; commit as given. */
export function diskWithTerms(terms: readonly number[], hard: { term: number; commit?: number; vote?: string }): Disk {
  return {
    hardState: { term: hard.term, vote: hard.vote ?? '', commit: hard.commit ?? 0 },
    snapshot: undefined,
    entries: terms.map((term, i) => ({ index: i + 1, term, type: 'normal', data: encoder.encode(`${i + 1}@${term}`) })),
  };
}

export function termsOf(d: Disk): number[] {
  return d.entries.map((e) => e.term);
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Messages of each type delivered so far. */
  readonly delivered = new Map<MessageType, number>();
  private cut = new Set<string>();
  private down = new Set<NodeId>();
  /** Extra drop rule (return true to drop). */
  dropIf: ((m: Message) => boolean) | undefined;
  private seed = 1;

  constructor(
    readonly peers: readonly NodeId[],
    private readonly opts: NodeOptions = {},
    disks: Readonly<Record<NodeId, Disk>> = {},
  ) {
    for (const id of peers) this.addNode(id, peers, opts, disks[id]);
  }

  addNode(id: NodeId, voters: readonly NodeId[], opts: NodeOptions = this.opts, restore?: Disk): TestNode {
    const raw = new RawNode({
      id,
      group: 'g',
      peers: voters,
      random: new SeededRandom(this.seed++),
      maxSizePerMsg: 1024,
      maxInflightMsgs: 8,
      preVote: true,
      checkQuorum: true,
      ...opts,
      ...(restore ? { restore: { hardState: restore.hardState, snapshot: restore.snapshot, entries: restore.entries } } : {}),
    });
    const disk: Disk = restore ?? { hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [] };
    const node: TestNode = { raw, disk, applied: [], appliedIndex: 0, reads: [] };
    if (restore?.snapshot) this.restoreApp(node, restore.snapshot);
    this.nodes.set(id, node);
    this.down.delete(id);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raw(id: NodeId): RawNode {
    return this.node(id).raw;
  }

  /** Handles every pending Ready with an immediate fsync; queues what they send. */
  processReadies(): void {
    for (const [id, n] of this.nodes) {
      if (this.down.has(id)) continue;
      while (n.raw.hasReady()) {
        const rd = n.raw.ready();
        this.queue.push(...rd.earlyMessages);
        if (rd.snapshot) {
          n.disk.snapshot = rd.snapshot;
          n.disk.entries = n.disk.entries.filter((e) => e.index > rd.snapshot!.meta.index);
          this.restoreApp(n, rd.snapshot);
        }
        if (rd.entries.length > 0) {
          const first = rd.entries[0]!.index;
          n.disk.entries = n.disk.entries.filter((e) => e.index < first).concat(rd.entries);
        }
        if (rd.hardState) n.disk.hardState = rd.hardState;
        this.queue.push(...rd.messages);
        for (const e of rd.committedEntries) {
          if (e.index !== n.appliedIndex + 1) throw new Error(`${id} applies ${e.index} after ${n.appliedIndex}`);
          n.appliedIndex = e.index;
          if (e.type === 'normal') n.applied.push(decoder.decode(e.data));
        }
        n.reads.push(...rd.readStates);
        n.raw.advance(rd);
      }
    }
  }

  private restoreApp(n: TestNode, snap: Snapshot): void {
    n.applied = JSON.parse(decoder.decode(snap.data)) as string[];
    n.appliedIndex = snap.meta.index;
  }

  /** Application snapshot of node `id` at its applied index, compacting its log. */
  compact(id: NodeId): void {
    const n = this.node(id);
    const snap = n.raw.compact(n.appliedIndex, encoder.encode(JSON.stringify(n.applied)));
    n.disk.snapshot = snap;
    n.disk.entries = n.disk.entries.filter((e) => e.index > snap.meta.index);
  }

  private blocked(m: Message): boolean {
    return this.down.has(m.to) || this.down.has(m.from) || this.cut.has(`${m.from}>${m.to}`) || (this.dropIf?.(m) ?? false);
  }

  /** Delivers queued messages (and whatever they cause) until the network is quiet. */
  deliver(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processReadies();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.blocked(m)) continue;
        const to = this.nodes.get(m.to);
        if (!to) continue;
        this.delivered.set(m.type, (this.delivered.get(m.type) ?? 0) + 1);
        to.raw.step(m);
      }
    }
    throw new Error('network did not go quiet');
  }

  /** Ticks every live node `n` times, delivering after each tick. */
  tick(n = 1, only?: readonly NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) {
        if (this.down.has(id) || (only && !only.includes(id))) continue;
        node.raw.tick();
      }
      this.deliver();
    }
  }

  campaign(id: NodeId): void {
    this.processReadies(); // a bootstrapped node campaigns only once its membership entry is applied
    this.raw(id).campaign();
    this.deliver();
  }

  propose(id: NodeId, data: string): void {
    this.raw(id).propose(data);
    this.deliver();
  }

  /** Cuts every link between the two sides (both directions). */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}>${y}`);
        this.cut.add(`${y}>${x}`);
      }
    }
  }

  isolate(id: NodeId): void {
    this.partition([id], [...this.nodes.keys()].filter((x) => x !== id));
  }

  heal(): void {
    this.cut.clear();
    this.dropIf = undefined;
  }

  /** Crash: the node loses everything not on its disk. */
  crash(id: NodeId): void {
    this.down.add(id);
  }

  restart(id: NodeId, voters: readonly NodeId[] = this.peers): void {
    const disk = this.node(id).disk;
    this.addNode(id, voters, this.opts, { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries] });
  }

  leaders(): NodeId[] {
    return [...this.nodes].filter(([id, n]) => !this.down.has(id) && n.raw.status().role === 'leader').map(([id]) => id);
  }

  count(type: MessageType): number {
    return this.delivered.get(type) ?? 0;
  }

  resetCounts(): void {
    this.delivered.clear();
  }
}
