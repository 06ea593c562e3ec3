/**
 * Prometheus metrics: one registry per node (several nodes can share a test process),
 * prom-client's default process metrics, and GraphQL operation counts and durations by
 * operation name, type and outcome. Operation names come from clients, so the number of
 * distinct names kept as labels is capped; the rest are counted as "other".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const MAX_OPERATION_NAMES = 200;

export interface PeerSample {
  readonly id: string;
  readonly reachable: boolean;
  readonly rttMs: number | undefined;
}

export interface RaftSample {
  readonly group: string;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly isLeader: boolean;
}

export type OperationOutcome = 'success' | 'error' | 'invalid' | 'unauthenticated';

export class NodeMetrics {
  readonly registry = new Registry();
  readonly operations: Counter<'operation' | 'type' | 'outcome'>;
  readonly operationDuration: Histogram<'operation' | 'type' | 'outcome'>;
  readonly peerReachable: Gauge<'peer'>;
  readonly peerRtt: Gauge<'peer'>;
  readonly raftProposals: Counter<'group' | 'outcome'>;
  readonly raftLeaderChanges: Counter<'group'>;
  readonly raftPersist: Histogram<'group'>;
  readonly raftPersistedEntries: Counter<'group'>;
  private raftSource: () => readonly RaftSample[] = () => [];
  private readonly seenNames = new Set<string>();
  /** Label set → metric children, so the hot path skips prom-client's label hashing. */
  private readonly children = new Map<
    string,
    { count: { inc(): void }; duration: { observe(value: number): void } }
  >();
  private peerSource: () => readonly PeerSample[] = () => [];

  constructor(labels: { nodeId: string }) {
    this.registry.setDefaultLabels({ node: labels.nodeId });
    collectDefaultMetrics({ register: this.registry });
    this.operations = new Counter({
      name: 'distsync_graphql_operations_total',
      help: 'GraphQL operations by operation name, type and outcome',
      labelNames: ['operation', 'type', 'outcome'],
      registers: [this.registry],
    });
    this.operationDuration = new Histogram({
      name: 'distsync_graphql_operation_duration_seconds',
      help: 'Time to execute a GraphQL operation (parse and validate excluded)',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    const raft = () => this.raftSource();
    for (const [name, help, pick] of [
      ['distsync_raft_term', 'Current Raft term', (s: RaftSample) => s.term],
      ['distsync_raft_commit_index', 'Highest log index known committed', (s: RaftSample) => s.commit],
      ['distsync_raft_applied_index', 'Highest log index applied to the state machine', (s: RaftSample) => s.applied],
      ['distsync_raft_is_leader', '1 on the leader of the group, else 0', (s: RaftSample) => (s.isLeader ? 1 : 0)],
    ] as const) {
      new Gauge({
        name,
        help,
        labelNames: ['group'],
        registers: [this.registry],
        collect() {
          for (const s of raft()) this.set({ group: s.group }, pick(s));
        },
      });
    }
    this.raftProposals = new Counter({
      name: 'distsync_raft_proposals_total',
      help: 'Proposals made on this node, by outcome (failed = not committed before the deadline)',
      labelNames: ['group', 'outcome'],
      registers: [this.registry],
    });
    this.raftLeaderChanges = new Counter({
      name: 'distsync_raft_leader_changes_total',
      help: 'Times this node learned of a new leader (elections and transfers)',
      labelNames: ['group'],
      registers: [this.registry],
    });
    this.raftPersist = new Histogram({
      name: 'distsync_raft_append_fsync_seconds',
      help: 'Time of one durable WAL append (write and fsync) of a Ready',
      labelNames: ['group'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [this.registry],
    });
    this.raftPersistedEntries = new Counter({
      name: 'distsync_raft_persisted_entries_total',
      help: 'Log entries made durable; divided by the append count it gives entries per fsync',
      labelNames: ['group'],
      registers: [this.registry],
    });
    // Peer gauges are read from the cluster view at scrape time, never stale.
    const samples = () => this.peerSource();
    this.peerReachable = new Gauge({
      name: 'distsync_peer_reachable',
      help: '1 when this node hears heartbeats from the peer, else 0',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        for (const peer of samples()) this.set({ peer: peer.id }, peer.reachable ? 1 : 0);
      },
    });
    this.peerRtt = new Gauge({
      name: 'distsync_peer_rtt_seconds',
      help: 'Round-trip time of the last answered heartbeat to the peer',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        for (const peer of samples()) if (peer.rttMs !== undefined) this.set({ peer: peer.id }, peer.rttMs / 1000);
      },
    });
  }

  observeRaft(source: () => readonly RaftSample[]): void {
    this.raftSource = source;
  }

  /** The observer a Raft group reports proposals, writes and leader changes to. */
  raftObserver(group: string): { proposal(o: 'committed' | 'failed'): void; persisted(s: number, n: number): void; leaderChanged(): void } {
    const committed = this.raftProposals.labels({ group, outcome: 'committed' });
    const failed = this.raftProposals.labels({ group, outcome: 'failed' });
    const persist = this.raftPersist.labels({ group });
    const entries = this.raftPersistedEntries.labels({ group });
    const leader = this.raftLeaderChanges.labels({ group });
    return {
      proposal: (outcome) => (outcome === 'committed' ? committed : failed).inc(),
      persisted: (seconds, n) => {
        persist.observe(seconds);
        entries.inc(n);
      },
      leaderChanged: () => leader.inc(),
    };
  }

  observePeers(source: () => readonly PeerSample[]): void {
    this.peerSource = source;
  }

  /** Bounds label cardinality: the first MAX_OPERATION_NAMES names are kept. */
  operationLabel(name: string | undefined): string {
    const label = name ?? 'anonymous';
    if (this.seenNames.has(label)) return label;
    if (this.seenNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.seenNames.add(label);
    return label;
  }

  recordOperation(name: string | undefined, type: string, outcome: OperationOutcome, seconds?: number): void {
    const operation = this.operationLabel(name);
    const key = `${operation}\u0000${type}\u0000${outcome}`;
    let children = this.children.get(key);
    if (!children) {
      const labels = { operation, type, outcome };
      children = { count: this.operations.labels(labels), duration: this.operationDuration.labels(labels) };
      this.children.set(key, children);
    }
    children.count.inc();
    if (seconds !== undefined) children.duration.observe(seconds);
  }
}
