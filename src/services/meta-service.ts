/**
 * MetaService: the `meta` Raft group on this node — its WAL under <data-dir>/raft/meta, its
 * driver, and its state machine modules. Services propose meta commands here and read
 * through its linearizable barrier; the GraphQL cluster view reads its status.
 */
import path from 'node:path';
import { appError } from '../errors.js';
import type { Logger } from '../log.js';
import { MetaStateMachine, encodeMetaCommand, type MetaModule, type MetaResult } from '../cluster/meta-state-machine.js';
import { MEMBERS } from '../cluster/members-module.js';
import { RaftGroup, type RaftEvent, type RaftGroupObserver } from '../raft/driver/raft-group.js';
import type { Status } from '../raft/types.js';
import { Wal, type FsyncMode } from '../storage/index.js';
import type { Envelope } from '../transport/envelope.js';
import type { PeerTransport } from '../transport/types.js';
import type { Random } from '../util/random.js';
import type { Scheduler } from '../util/scheduler.js';

export const META_GROUP = 'meta';
const RAFT_TRANSFER = 'raft.transfer';

export interface MetaServiceOptions {
  readonly selfId: string;
  readonly voters: readonly string[];
  readonly dataDir: string;
  readonly transport: PeerTransport;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly logger: Logger;
  readonly modules: readonly MetaModule[];
  readonly fsync: FsyncMode;
  readonly tickMs: number;
  readonly electionTick: number;
  readonly requestTimeoutMs: number;
  readonly observer?: RaftGroupObserver;
}

export class MetaService {
  private constructor(
    private readonly group: RaftGroup,
    private readonly wal: Wal,
    private readonly options: MetaServiceOptions,
    private readonly unsubscribe: () => void,
  ) {}

  static async open(options: MetaServiceOptions): Promise<MetaService> {
    const { wal, recovered } = await Wal.open(path.join(options.dataDir, 'raft', META_GROUP), {
      fsync: options.fsync,
      logger: options.logger.child({ component: 'wal', group: META_GROUP }),
    });
    const group = new RaftGroup({
      group: META_GROUP,
      selfId: options.selfId,
      voters: options.voters,
      transport: options.transport,
      wal,
      recovered,
      stateMachine: new MetaStateMachine(options.modules),
      scheduler: options.scheduler,
      random: options.random,
      logger: options.logger,
      tickMs: options.tickMs,
      electionTick: options.electionTick,
      requestTimeoutMs: options.requestTimeoutMs,
      ...(options.observer ? { observer: options.observer } : {}),
    });
    // Leadership transfers asked on a follower are carried out by the leader.
    const unsubscribe = options.transport.onMessage((envelope: Envelope) => {
      if (envelope.group === META_GROUP && envelope.type === RAFT_TRANSFER) {
        const to = (envelope.body as { to?: unknown }).to;
        if (typeof to === 'string' && group.status().role === 'leader') group.transferLeadership(to);
      }
    });
    return new MetaService(group, wal, options, unsubscribe);
  }

  start(): void {
    this.group.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await this.group.stop();
    await this.wal.close();
  }

  /** Replicates a command for `module`; resolves with its value or throws its refusal. */
  async propose(module: string, command: unknown): Promise<unknown> {
    const result = (await this.group.propose(encodeMetaCommand({ module, command }))) as MetaResult;
    if (!result.ok) throw appError('BAD_USER_INPUT', result.error);
    return result.value;
  }

  readBarrier(): Promise<void> {
    return this.group.readBarrier();
  }

  status(): Status {
    return this.group.status();
  }

  appliedIndex(): number {
    return this.group.appliedIndex();
  }

  /** fsyncs and bytes written by this group's WAL since the node started. */
  walStats(): { fsyncs: number; bytesWritten: number } {
    const stats = this.wal.stats();
    return { fsyncs: stats.fsyncs, bytesWritten: stats.bytesWritten };
  }

  leader(): string | undefined {
    return this.group.status().lead || undefined;
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    return this.group.onEvent(listener);
  }

  /**
   * Adds a member: its address is replicated first, then it joins as a learner; the leader
   * promotes it to voter once its log has caught up. Resolves when it is a learner or voter.
   */
  async addNode(id: string, address: string): Promise<void> {
    const { voters, learners } = this.group.status().config;
    if (voters.includes(id) || learners.includes(id)) throw appError('BAD_USER_INPUT', `"${id}" is already a member`);
    await this.propose(MEMBERS, { op: 'put', id, address });
    await this.group.changeMembership({ type: 'addLearner', nodeId: id });
  }

  /** Removes a member (voter or learner) and forgets its address. */
  async removeNode(id: string): Promise<void> {
    const { voters, learners } = this.group.status().config;
    if (!voters.includes(id) && !learners.includes(id)) throw appError('NOT_FOUND', `"${id}" is not a member`);
    if (voters.length === 1 && voters[0] === id) throw appError('BAD_USER_INPUT', 'cannot remove the last voter');
    await this.group.changeMembership({ type: 'remove', nodeId: id });
    await this.propose(MEMBERS, { op: 'delete', id });
  }

  /** Asks the leader (this node or another) to hand leadership to `to`; waits until it has. */
  async transferLeadership(to: string, timeoutMs = 3_000): Promise<Status> {
    const status = this.group.status();
    if (![...status.config.voters].includes(to)) throw appError('BAD_USER_INPUT', `"${to}" is not a voting member`);
    if (status.lead === to) return status;
    if (status.role === 'leader') this.group.transferLeadership(to);
    else if (status.lead) this.options.transport.send(status.lead, { type: RAFT_TRANSFER, group: META_GROUP, body: { to } });
    else throw appError('UNAVAILABLE', 'no leader is known');
    const deadline = this.options.scheduler.now() + timeoutMs;
    while (this.options.scheduler.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      const now = this.group.status();
      if (now.lead === to) return now;
    }
    throw appError('UNAVAILABLE', `leadership did not move to "${to}" within ${timeoutMs} ms`);
  }
}
