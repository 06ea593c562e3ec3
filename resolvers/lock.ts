/** Root fields of the lock service: sessions, acquire/release, fencing, reads, and lock events. */
import { GraphQLError } from 'graphql';
import { builder } from '../schema/builder.js';
import {
  ConsistencyEnum,
  FenceCheckRef,
  LockAcquisitionRef,
  LockDowngradeRef,
  LockEventRef,
  LockModeEnum,
  LockRef,
  LockReleaseRef,
  LockSessionRef,
  LockWaitCancelRef,
  SessionLeaseRef,
  WaitForGraphRef,
  type LockEventPayload,
} from '../schema/lock.js';
import { hasScope } from '../src/api/auth.js';
import type { GraphQLContext } from '../src/api/context.js';
import { appError } from '../src/errors.js';
import type { SequencedLockEvent } from '../src/lock/meta-module.js';
import { checkName, parseToken } from '../src/lock/validate.js';
import { formatCursor, parseCursor, type Cursor } from '../src/services/lock-event-log.js';
import type { Caller } from '../src/services/lock-service.js';

function callerOf(ctx: GraphQLContext): Caller {
  return { id: ctx.principal.id, isAdmin: hasScope(ctx.principal, 'admin') };
}

function validName(name: string): string {
  const bad = checkName(name);
  if (bad) throw appError('BAD_USER_INPUT', bad.message, { details: { field: 'name' } });
  return name;
}

function validToken(token: bigint): string {
  const text = token.toString();
  if (parseToken(text) === undefined) throw appError('BAD_USER_INPUT', 'fencingToken must be an unsigned 64-bit integer', { details: { field: 'fencingToken' } });
  return text;
}

function validRequestId(id: string | null | undefined): string | undefined {
  if (id === null || id === undefined) return undefined;
  if (id.length === 0 || id.length > 256) throw appError('BAD_USER_INPUT', 'requestId must be 1-256 characters', { details: { field: 'requestId' } });
  return id;
}

function validAfter(after: string | null | undefined): Cursor | undefined {
  if (after === null || after === undefined) return undefined;
  const cursor = parseCursor(after);
  if (!cursor) throw appError('BAD_USER_INPUT', 'after must be a cursor "logIndex:position" from an earlier event', { details: { field: 'after' } });
  return cursor;
}

// ---- sessions -------------------------------------------------------------------------

builder.mutationField('openSession', (t) =>
  t.field({
    type: LockSessionRef,
    authScopes: { write: true },
    description: 'Opens a lock session with a lease of ttlMs (3,000 … 86,400,000); it belongs to the calling token',
    args: { ttlMs: t.arg.int({ required: true }) },
    resolve: (_root, { ttlMs }, ctx) => ctx.services.lockService.openSession(callerOf(ctx), ttlMs),
  }),
);

builder.mutationField('keepAlive', (t) =>
  t.field({
    type: SessionLeaseRef,
    authScopes: { write: true },
    description: 'Renews a session’s lease to now + ttlMs',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, ctx) => ctx.services.lockService.keepAlive(String(sessionId), callerOf(ctx)),
  }),
);

builder.mutationField('closeSession', (t) =>
  t.field({
    type: LockSessionRef,
    authScopes: { write: true },
    description: 'Closes a session: releases its locks and cancels its waits. Closing a closed session is harmless',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, ctx) => ctx.services.lockService.closeSession(String(sessionId), callerOf(ctx)),
  }),
);

builder.mutationField('forceCloseSession', (t) =>
  t.field({
    type: LockSessionRef,
    authScopes: { admin: true },
    description: 'Closes any session (admin): releases its locks and cancels its waits',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, ctx) =>
      ctx.services.lockService.closeSession(String(sessionId), { id: ctx.principal.id, isAdmin: true }),
  }),
);

// ---- acquire, release, downgrade --------------------------------------------------------

builder.mutationField('acquireLock', (t) =>
  t.field({
    type: LockAcquisitionRef,
    authScopes: { write: true },
    description:
      'Acquires a lock for a session, waiting up to timeoutMs (0 = try once). With async: true it answers WAITING at once and the grant comes on lockGranted. Repeating requestId repeats the answer, never a second grant',
    args: {
      name: t.arg.string({ required: true }),
      mode: t.arg({ type: LockModeEnum, required: true, defaultValue: 'EXCLUSIVE' }),
      sessionId: t.arg.id({ required: true }),
      timeoutMs: t.arg.int({ required: true, defaultValue: 0 }),
      requestId: t.arg.string({ description: 'Client id of this request (1-256 characters); generated when omitted' }),
      async: t.arg.boolean({ required: true, defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      const name = validName(args.name);
      const requestId = validRequestId(args.requestId);
      if (args.timeoutMs < 0) throw appError('BAD_USER_INPUT', 'timeoutMs must not be negative', { details: { field: 'timeoutMs' } });
      const abandoned = ctx.abandoned;
      const answer = await ctx.services.lockService.acquire({
        ...(requestId === undefined ? {} : { requestId }),
        sessionId: String(args.sessionId),
        caller: callerOf(ctx),
        name,
        mode: args.mode,
        timeoutMs: args.timeoutMs,
        async: args.async,
        // A client that goes away stops waiting: its wait is cancelled, not left queued.
        ...(abandoned ? { onAbandon: abandoned } : {}),
      });
      return { ...answer, name, mode: args.mode, sessionId: String(args.sessionId) };
    },
  }),
);

builder.mutationField('releaseLock', (t) =>
  t.field({
    type: LockReleaseRef,
    authScopes: { write: true },
    description:
      'Releases one acquire of a hold, named by its fencing token. Releasing an already released token is harmless; a requestId makes a retried release of a re-entrant hold count down once',
    args: {
      name: t.arg.string({ required: true }),
      sessionId: t.arg.id({ required: true }),
      fencingToken: t.arg({ type: 'Int64', required: true }),
      requestId: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const name = validName(args.name);
      const requestId = validRequestId(args.requestId);
      const result = await ctx.services.lockService.release({
        sessionId: String(args.sessionId),
        caller: callerOf(ctx),
        name,
        fencingToken: validToken(args.fencingToken),
        ...(requestId === undefined ? {} : { requestId }),
      });
      return { name, remaining: result.remaining, alreadyReleased: result.alreadyReleased };
    },
  }),
);

builder.mutationField('cancelLockWait', (t) =>
  t.field({
    type: LockWaitCancelRef,
    authScopes: { write: true },
    description:
      'Cancels a waiting acquire of the session (e.g. an async one). If the grant applied first, the lock is held and its fencing token is returned',
    args: { sessionId: t.arg.id({ required: true }), requestId: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const requestId = validRequestId(args.requestId)!;
      const result = await ctx.services.lockService.cancelWait(String(args.sessionId), callerOf(ctx), requestId);
      return { requestId, cancelled: result.cancelled, fencingToken: result.grant?.fencingToken };
    },
  }),
);

builder.mutationField('downgradeLock', (t) =>
  t.field({
    type: LockDowngradeRef,
    authScopes: { write: true },
    description: 'Turns the session’s EXCLUSIVE hold into SHARED (waiting sharers are granted); the fencing token stays',
    args: { name: t.arg.string({ required: true }), sessionId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const name = validName(args.name);
      const result = await ctx.services.lockService.downgrade(String(args.sessionId), callerOf(ctx), name);
      return { name, mode: result.mode };
    },
  }),
);

// ---- reads ------------------------------------------------------------------------------

builder.queryField('checkFence', (t) =>
  t.field({
    type: FenceCheckRef,
    authScopes: { read: true },
    description: 'Whether a fencing token belongs to a current hold of the lock (always linearizable)',
    args: { name: t.arg.string({ required: true }), fencingToken: t.arg({ type: 'Int64', required: true }) },
    resolve: async (_root, args, ctx) => {
      const name = validName(args.name);
      const fencingToken = validToken(args.fencingToken);
      const result = await ctx.services.lockService.checkFence(name, fencingToken);
      return { name, fencingToken, valid: result.valid, mode: result.mode };
    },
  }),
);

builder.queryField('lock', (t) =>
  t.field({
    type: LockRef,
    nullable: true,
    authScopes: { read: true },
    description: 'One lock: holders, waiters in queue order, last fencing token; null when nobody holds or waits for it and it never had a token',
    args: {
      name: t.arg.string({ required: true }),
      consistency: t.arg({ type: ConsistencyEnum, required: true, defaultValue: 'LINEARIZABLE' }),
    },
    resolve: async (_root, args, ctx) => (await ctx.services.lockService.lock(validName(args.name), args.consistency)) ?? null,
  }),
);

builder.queryField('locks', (t) =>
  t.field({
    type: [LockRef],
    authScopes: { read: true },
    description: 'Locks that are held or waited for, sorted by name, optionally only names starting with prefix',
    args: {
      prefix: t.arg.string(),
      first: t.arg.int({ required: true, defaultValue: 100, description: 'At most this many (1-1000)' }),
      consistency: t.arg({ type: ConsistencyEnum, required: true, defaultValue: 'LINEARIZABLE' }),
    },
    resolve: (_root, args, ctx) => ctx.services.lockService.locks(args.prefix ?? '', args.first, args.consistency),
  }),
);

builder.queryField('session', (t) =>
  t.field({
    type: LockSessionRef,
    nullable: true,
    authScopes: { read: true },
    description: 'One session (its owner or an admin may read it); null when unknown',
    args: {
      id: t.arg.id({ required: true }),
      consistency: t.arg({ type: ConsistencyEnum, required: true, defaultValue: 'LINEARIZABLE' }),
    },
    resolve: async (_root, args, ctx) =>
      (await ctx.services.lockService.session(String(args.id), callerOf(ctx), args.consistency)) ?? null,
  }),
);

builder.queryField('sessions', (t) =>
  t.field({
    type: [LockSessionRef],
    authScopes: { read: true },
    description: 'Sessions with their locks and waits: every session for an admin token, the caller’s own otherwise',
    args: {
      consistency: t.arg({ type: ConsistencyEnum, required: true, defaultValue: 'LINEARIZABLE' }),
    },
    resolve: (_root, args, ctx) => ctx.services.lockService.sessions(callerOf(ctx), args.consistency),
  }),
);

builder.queryField('waitForGraph', (t) =>
  t.field({
    type: WaitForGraphRef,
    authScopes: { read: true },
    description: 'Who waits for whom: an edge per waiting request to each conflicting holder and to the nearest conflicting earlier waiter',
    args: {
      consistency: t.arg({ type: ConsistencyEnum, required: true, defaultValue: 'LINEARIZABLE' }),
    },
    resolve: async (_root, args, ctx) => ({ edges: await ctx.services.lockService.waitForGraph(args.consistency) }),
  }),
);

// ---- subscriptions ----------------------------------------------------------------------

function payloadOf({ index, position, event }: SequencedLockEvent): LockEventPayload {
  const cursor = formatCursor({ index, position });
  switch (event.type) {
    case 'GRANTED':
      return { cursor, type: 'GRANTED', sessionId: event.sessionId, name: event.name, requestId: event.requestId, mode: event.mode, fencingToken: event.fencingToken };
    case 'RELEASED':
      return { cursor, type: 'RELEASED', sessionId: event.sessionId, name: event.name, fencingToken: event.fencingToken, remaining: event.remaining };
    case 'DOWNGRADED':
      return { cursor, type: 'DOWNGRADED', sessionId: event.sessionId, name: event.name, mode: 'SHARED', fencingToken: event.fencingToken };
    case 'LOST':
      return { cursor, type: 'LOST', sessionId: event.sessionId, name: event.name, fencingToken: event.fencingToken };
    case 'DEADLOCK_VICTIM':
      return { cursor, type: 'DEADLOCK_VICTIM', sessionId: event.sessionId, name: event.name, requestId: event.requestId, cycle: event.cycle };
    case 'WAIT_CANCELLED':
      return { cursor, type: 'WAIT_CANCELLED', sessionId: event.sessionId, name: event.name, requestId: event.requestId, reason: event.reason };
    case 'EXPIRED':
    case 'CLOSED':
      return { cursor, type: 'SESSION_ENDED', sessionId: event.sessionId, reason: event.type };
  }
}

/** What a lock stream yields: an event, or the error that ends it (resolved into a GraphQL error). */
type StreamItem = { readonly event: SequencedLockEvent } | { readonly error: GraphQLError };

/**
 * Wraps a lock-event reader for a subscription: an error that ends the stream (too slow,
 * history gap) is delivered as a last payload with its code, then the stream completes;
 * `cleanup` runs once however it ends.
 */
function lockStream(source: AsyncIterableIterator<SequencedLockEvent>, cleanup?: () => void): AsyncIterableIterator<StreamItem> {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    cleanup?.();
  };
  const iterator: AsyncIterableIterator<StreamItem> = {
    async next() {
      if (done) return { value: undefined, done: true };
      try {
        const result = await source.next();
        if (result.done) {
          finish();
          return { value: undefined, done: true };
        }
        return { value: { event: result.value }, done: false };
      } catch (error) {
        finish();
        const graphQLError = error instanceof GraphQLError ? error : appError('INTERNAL');
        return { value: { error: graphQLError }, done: false };
      }
    },
    async return() {
      finish();
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

function resolveItem(item: StreamItem): LockEventPayload {
  if ('error' in item) throw item.error;
  return payloadOf(item.event);
}

const SESSION_END = new Set(['EXPIRED', 'CLOSED']);

/** Opens a stream of one session's events, after checking the caller may see the session. */
async function sessionStream(
  ctx: GraphQLContext,
  sessionId: string,
  afterArg: string | null | undefined,
  types: ReadonlySet<string>,
): Promise<AsyncIterableIterator<StreamItem>> {
  const log = ctx.services.lockEvents;
  // Pinned before any await, so nothing applied while the session is checked is missed.
  const after = validAfter(afterArg) ?? log.lastCursor();
  const session = await ctx.services.lockService.session(sessionId, callerOf(ctx), 'LINEARIZABLE');
  if (!session) throw appError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
  if (session.state !== 'OPEN' && afterArg == null) throw appError('SESSION_EXPIRED', `session "${sessionId}" is ${session.state}`);
  const source = log.read({
    after,
    filter: ({ event }) => event.sessionId === sessionId && (types.has(event.type) || SESSION_END.has(event.type)) && (event.type !== 'GRANTED' || event.queued),
    last: ({ event }) => SESSION_END.has(event.type),
  });
  const release = ctx.connection && session.state === 'OPEN' ? ctx.services.sessionRenewer.hold(sessionId, ctx.connection) : undefined;
  return lockStream(source, release);
}

builder.subscriptionField('lockGranted', (t) =>
  t.field({
    type: LockEventRef,
    authScopes: { write: true },
    description:
      'A session’s asynchronous outcomes: GRANTED for queued requests, LOST, DEADLOCK_VICTIM, WAIT_CANCELLED, then SESSION_ENDED. While open over graphql-ws on a connection that answers pings, it keeps the session alive. Subscribe before an async acquire, or pass the last cursor seen as after',
    args: { sessionId: t.arg.id({ required: true }), after: t.arg.string({ description: 'Resume strictly after this cursor' }) },
    subscribe: (_root, args, ctx) =>
      sessionStream(ctx, String(args.sessionId), args.after, new Set(['GRANTED', 'LOST', 'DEADLOCK_VICTIM', 'WAIT_CANCELLED'])),
    resolve: resolveItem,
  }),
);

builder.subscriptionField('lockLost', (t) =>
  t.field({
    type: LockEventRef,
    authScopes: { write: true },
    description:
      'LOST for each hold of the session taken away by its expiry, then SESSION_ENDED. Like lockGranted, it keeps the session alive while its connection answers pings',
    args: { sessionId: t.arg.id({ required: true }), after: t.arg.string({ description: 'Resume strictly after this cursor' }) },
    subscribe: (_root, args, ctx) => sessionStream(ctx, String(args.sessionId), args.after, new Set(['LOST'])),
    resolve: resolveItem,
  }),
);

builder.subscriptionField('lockEvents', (t) =>
  t.field({
    type: LockEventRef,
    authScopes: { read: true },
    description: 'Every event of one lock. Never drops one: resume with after; a subscriber that falls too far behind ends with SUBSCRIBER_TOO_SLOW',
    args: { name: t.arg.string({ required: true }), after: t.arg.string({ description: 'Resume strictly after this cursor' }) },
    subscribe: (_root, args, ctx) => {
      const name = validName(args.name);
      const source = ctx.services.lockEvents.read({
        after: validAfter(args.after) ?? ctx.services.lockEvents.lastCursor(),
        filter: ({ event }) => 'name' in event && event.name === name,
      });
      return lockStream(source);
    },
    resolve: resolveItem,
  }),
);
