/**
 * Keeps this node's peer links and failure detector in step with the meta group's
 * membership: the peers are every voter and learner but this node, at the address the
 * members module has for them (or the bootstrap --peers list). A removed member's pinned
 * incarnation is forgotten, so it can be added again later with a fresh data dir.
 */
import type { MembersModule } from '../cluster/members-module.js';
import type { PeerAddress } from '../transport/types.js';
import type { ClusterService } from './cluster-service.js';
import type { MetaService } from './meta-service.js';

export interface PeerLinks {
  setPeers?(peers: readonly PeerAddress[]): void;
}

export interface MembershipSyncOptions {
  readonly selfId: string;
  readonly bootstrapPeers: readonly PeerAddress[];
  readonly meta: MetaService;
  readonly members: MembersModule;
  readonly cluster: ClusterService;
  readonly transport: PeerLinks;
  readonly forgetIncarnation?: (peer: string) => void;
}

export function startMembershipSync(options: MembershipSyncOptions): () => void {
  const bootstrap = new Map(options.bootstrapPeers.map((p) => [p.id, p.address]));
  let current = new Set(options.bootstrapPeers.map((p) => p.id));

  const sync = (): void => {
    const { voters, learners } = options.meta.status().config;
    const ids = [...new Set([...voters, ...learners])].filter((id) => id !== options.selfId);
    // Until the log has told us the membership (a fresh joiner), keep the configured peers.
    if (voters.length === 0) return;
    const peers: PeerAddress[] = [];
    for (const id of ids) {
      const address = options.members.address(id) ?? bootstrap.get(id);
      if (address) peers.push({ id, address });
    }
    const next = new Set(peers.map((p) => p.id));
    for (const id of current) if (!next.has(id) && !ids.includes(id)) options.forgetIncarnation?.(id);
    current = next;
    options.transport.setPeers?.(peers);
    options.cluster.setPeers(peers);
  };

  const offEvents = options.meta.onEvent((event) => {
    if (event.type === 'NODE_ADDED' || event.type === 'NODE_REMOVED' || event.type === 'NODE_PROMOTED') sync();
  });
  const offMembers = options.members.onChange(sync);
  sync();
  return () => {
    offEvents();
    offMembers();
  };
}
