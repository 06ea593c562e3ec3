/** GraphQL types of the lock service: sessions, holds, waits, fencing, and lock events. */
import type { LockMode, LockView, SessionView, WaitForEdge } from '../src/lock/types.js';
import { builder } from './builder.js';

export const LockModeEnum = builder.enumType('LockMode', {
  values: {
    SHARED: { description: 'Compatible with other SHARED holds' },
    EXCLUSIVE: { description: 'Compatible with nothing else' },
  } as const,
});

export const ConsistencyEnum = builder.enumType('Consistency', {
  values: {
    LINEARIZABLE: { description: 'Reflects every write acknowledged before the read began (a ReadIndex round through the leader)' },
    LOCAL: { description: "The answering replica's state, which may lag the leader" },
  } as const,
});

export const SessionStateEnum = builder.enumType('SessionState', {
  values: {
    OPEN: { description: 'Alive: renewed before its deadline' },
    EXPIRED: { description: 'Ran past its deadline; its locks were released and its waits cancelled' },
    CLOSED: { description: 'Closed by its owner or an admin' },
  } as const,
});

export const AcquireStatusEnum = builder.enumType('AcquireStatus', {
  values: {
    GRANTED: { description: 'The lock is held; use the fencing token' },
    WAITING: { description: 'Queued (async acquires only); the outcome comes on lockGranted' },
  } as const,
});

export const WaitEdgeKindEnum = builder.enumType('WaitEdgeKind', {
  values: {
    HOLDER: { description: 'The target holds the lock in a conflicting mode' },
    SOFT: { description: 'The target waits ahead in the queue with a conflicting request' },
  } as const,
});

export const LockEventTypeEnum = builder.enumType('LockEventType', {
  values: {
    GRANTED: { description: 'A hold was granted (on lockGranted: a queued request)' },
    RELEASED: { description: 'A hold was released (or counted down: see remaining)' },
    DOWNGRADED: { description: 'An EXCLUSIVE hold became SHARED' },
    LOST: { description: "A hold was taken away because its session expired" },
    DEADLOCK_VICTIM: { description: 'A waiting request was aborted to break a deadlock (see cycle)' },
    WAIT_CANCELLED: { description: 'A waiting request ended without a grant (see reason)' },
    SESSION_ENDED: { description: 'The session expired or was closed; the stream ends after this event' },
  } as const,
});

export const LockSessionRef = builder.objectRef<SessionView>('LockSession').implement({
  description: 'A lock session: a lease that holds locks and waits for them.',
  fields: (t) => ({
    id: t.exposeID('sessionId'),
    owner: t.exposeString('owner', { description: 'Fingerprint of the token that opened it' }),
    ttlMs: t.exposeInt('ttlMs'),
    expiresAt: t.exposeFloat('expiresAt', { description: "Lease deadline, epoch ms on the leader's clock" }),
    state: t.field({ type: SessionStateEnum, resolve: (s) => s.state }),
    holds: t.exposeStringList('holds', { description: 'Names of the locks it holds' }),
    waits: t.exposeStringList('waits', { description: 'Request ids of its waiting acquires' }),
  }),
});

export interface SessionLease {
  readonly sessionId: string;
  readonly expiresAt: number;
}

export const SessionLeaseRef = builder.objectRef<SessionLease>('SessionLease').implement({
  fields: (t) => ({
    id: t.exposeID('sessionId'),
    expiresAt: t.exposeFloat('expiresAt', { description: "New lease deadline, epoch ms on the leader's clock" }),
  }),
});

export interface AcquisitionView {
  readonly status: 'GRANTED' | 'WAITING';
  readonly requestId: string;
  readonly name: string;
  readonly mode: LockMode;
  readonly sessionId: string;
  readonly fencingToken?: string;
  readonly expiresAt?: number;
}

export const LockAcquisitionRef = builder.objectRef<AcquisitionView>('LockAcquisition').implement({
  fields: (t) => ({
    status: t.field({ type: AcquireStatusEnum, resolve: (a) => a.status }),
    requestId: t.exposeString('requestId', { description: 'The id a retry must repeat to get the same answer' }),
    name: t.exposeString('name'),
    mode: t.field({ type: LockModeEnum, resolve: (a) => a.mode }),
    sessionId: t.exposeID('sessionId'),
    fencingToken: t.field({
      type: 'Int64',
      nullable: true,
      description: 'The hold’s fencing token; null while WAITING',
      resolve: (a) => a.fencingToken ?? null,
    }),
    expiresAt: t.float({ nullable: true, description: 'The session’s lease deadline at the grant', resolve: (a) => a.expiresAt ?? null }),
  }),
});

export interface CancelView {
  readonly requestId: string;
  readonly cancelled: boolean;
  readonly fencingToken: string | undefined;
}

export const LockWaitCancelRef = builder.objectRef<CancelView>('LockWaitCancel').implement({
  fields: (t) => ({
    requestId: t.exposeString('requestId'),
    cancelled: t.exposeBoolean('cancelled', { description: 'True when this call ended the wait' }),
    fencingToken: t.field({
      type: 'Int64',
      nullable: true,
      description: 'Set when the grant came first: the session holds the lock with this token (release it if unwanted)',
      resolve: (c) => c.fencingToken ?? null,
    }),
  }),
});

export interface ReleaseView {
  readonly name: string;
  readonly remaining: number;
  readonly alreadyReleased: boolean;
}

export const LockReleaseRef = builder.objectRef<ReleaseView>('LockRelease').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    remaining: t.exposeInt('remaining', { description: 'Acquires still counted on the hold; 0 = the hold is gone' }),
    alreadyReleased: t.exposeBoolean('alreadyReleased', { description: 'True when the token had already been released (a retry)' }),
  }),
});

export interface DowngradeView {
  readonly name: string;
  readonly mode: LockMode;
}

export const LockDowngradeRef = builder.objectRef<DowngradeView>('LockDowngrade').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    mode: t.field({ type: LockModeEnum, resolve: (d) => d.mode }),
  }),
});

export interface FenceView {
  readonly name: string;
  readonly fencingToken: string;
  readonly valid: boolean;
  readonly mode: LockMode | undefined;
}

export const FenceCheckRef = builder.objectRef<FenceView>('FenceCheck').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    fencingToken: t.field({ type: 'Int64', resolve: (f) => f.fencingToken }),
    valid: t.exposeBoolean('valid', { description: 'Whether the token belongs to a current hold of the lock' }),
    mode: t.field({ type: LockModeEnum, nullable: true, description: 'The mode of that hold', resolve: (f) => f.mode ?? null }),
  }),
});

type HolderView = LockView['holders'][number];
type WaiterView = LockView['waiters'][number];

export const LockHolderRef = builder.objectRef<HolderView>('LockHolder').implement({
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    mode: t.field({ type: LockModeEnum, resolve: (h) => h.mode }),
    count: t.exposeInt('count', { description: 'Re-entrant acquires counted on the hold' }),
    fencingToken: t.field({ type: 'Int64', resolve: (h) => h.fencingToken }),
  }),
});

export const LockWaiterRef = builder.objectRef<WaiterView>('LockWaiter').implement({
  fields: (t) => ({
    requestId: t.exposeString('requestId'),
    sessionId: t.exposeID('sessionId'),
    mode: t.field({ type: LockModeEnum, resolve: (w) => w.mode }),
    deadline: t.exposeFloat('deadline', { description: "When the wait times out, epoch ms on the leader's clock" }),
  }),
});

export const LockRef = builder.objectRef<LockView>('Lock').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    holders: t.field({ type: [LockHolderRef], resolve: (l) => l.holders }),
    waiters: t.field({ type: [LockWaiterRef], description: 'In queue order', resolve: (l) => l.waiters }),
    lastFencingToken: t.field({
      type: 'Int64',
      description: 'The last fencing token issued for this name (0 when none)',
      resolve: (l) => l.lastFencingToken,
    }),
  }),
});

export const WaitForEdgeRef = builder.objectRef<WaitForEdge>('WaitForEdge').implement({
  fields: (t) => ({
    from: t.exposeID('from', { description: 'The waiting session' }),
    to: t.exposeID('to', { description: 'The session it waits for' }),
    requestId: t.exposeString('requestId', { description: 'The waiting request' }),
    name: t.exposeString('name', { description: 'The lock it waits for' }),
    kind: t.field({ type: WaitEdgeKindEnum, resolve: (e) => e.kind }),
  }),
});

export const WaitForGraphRef = builder.objectRef<{ readonly edges: readonly WaitForEdge[] }>('WaitForGraph').implement({
  fields: (t) => ({
    edges: t.field({ type: [WaitForEdgeRef], resolve: (g) => g.edges }),
  }),
});

export interface LockEventPayload {
  readonly cursor: string;
  readonly type: 'GRANTED' | 'RELEASED' | 'DOWNGRADED' | 'LOST' | 'DEADLOCK_VICTIM' | 'WAIT_CANCELLED' | 'SESSION_ENDED';
  readonly sessionId: string;
  readonly name?: string;
  readonly requestId?: string;
  readonly mode?: LockMode;
  readonly fencingToken?: string;
  readonly remaining?: number;
  readonly reason?: string;
  readonly cycle?: readonly string[];
}

export const LockEventRef = builder.objectRef<LockEventPayload>('LockEvent').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: '"logIndex:position", the same on every node; resume after it with `after`' }),
    type: t.field({ type: LockEventTypeEnum, resolve: (e) => e.type }),
    sessionId: t.exposeID('sessionId'),
    name: t.string({ nullable: true, resolve: (e) => e.name ?? null }),
    requestId: t.string({ nullable: true, resolve: (e) => e.requestId ?? null }),
    mode: t.field({ type: LockModeEnum, nullable: true, resolve: (e) => e.mode ?? null }),
    fencingToken: t.field({ type: 'Int64', nullable: true, resolve: (e) => e.fencingToken ?? null }),
    remaining: t.int({ nullable: true, description: 'RELEASED: acquires still counted on the hold', resolve: (e) => e.remaining ?? null }),
    reason: t.string({
      nullable: true,
      description: 'WAIT_CANCELLED: TIMEOUT, CANCELLED, SESSION_EXPIRED or SESSION_CLOSED; SESSION_ENDED: EXPIRED or CLOSED',
      resolve: (e) => e.reason ?? null,
    }),
    cycle: t.stringList({ nullable: true, description: 'DEADLOCK_VICTIM: the sessions in the cycle', resolve: (e) => e.cycle ?? null }),
  }),
});
