/**
 * The service's own history of one lock, from a lockEvents subscription that resumes after
 * its last cursor on the next node when its node dies or its stream ends; and the check that
 * EXCLUSIVE holds in that history never overlap.
 */
import type { Client } from 'graphql-ws';
import { connect } from '../../helpers/ws-client.js';

export interface HistoryEvent {
  readonly cursor: string;
  readonly type: string;
  readonly sessionId: string;
  readonly fencingToken: string | null;
  readonly mode: string | null;
  readonly remaining: number | null;
  /** Where and when (test clock) it arrived. */
  readonly node: string;
  readonly receivedAt: number;
}

export interface Resume {
  readonly from: string;
  readonly to: string;
  readonly after: string | undefined;
  readonly reason: string;
  readonly at: number;
}

const QUERY =
  'subscription($n: String!, $a: String) { lockEvents(name: $n, after: $a) { cursor type sessionId fencingToken mode remaining } }';

function reasonOf(error: unknown): string {
  if (Array.isArray(error)) return error.map((e) => reasonOf(e)).join('; ');
  if (error && typeof error === 'object') {
    const e = error as { extensions?: { code?: string }; message?: string; code?: number; reason?: string };
    if (e.extensions?.code) return e.extensions.code;
    if (typeof e.code === 'number') return `close ${e.code}${e.reason ? ` ${e.reason}` : ''}`;
    if (e.message) return e.message;
  }
  return String(error);
}

export class LockHistory {
  readonly events: HistoryEvent[] = [];
  readonly resumes: Resume[] = [];
  /** Set when the history cannot be completed (e.g. CURSOR_EXPIRED). */
  failure: string | undefined;
  private client: Client | undefined;
  private stopped = false;
  private restarts = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nodes: () => ReadonlyArray<{ readonly id: string; readonly url: string }>,
    private readonly token: string,
    private readonly name: string,
  ) {}

  /** The node the subscription is on (or is about to resume on). */
  node: string | undefined;

  get lastCursor(): string | undefined {
    return this.events.at(-1)?.cursor;
  }

  start(nodeId: string): void {
    this.subscribe(nodeId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.client?.dispose();
  }

  private subscribe(nodeId: string): void {
    const node = this.nodes().find((n) => n.id === nodeId)!;
    this.node = nodeId;
    const client = connect(node.url, `Bearer ${this.token}`);
    this.client = client;
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      void client.dispose();
      this.resume(nodeId, reason);
    };
    const after = this.lastCursor;
    client.subscribe<{ lockEvents: Omit<HistoryEvent, 'node' | 'receivedAt'> }>(
      { query: QUERY, variables: { n: this.name, a: after ?? null } },
      {
        next: (result) => {
          if (ended) return;
          const e = result.data?.lockEvents;
          if (e) this.events.push({ ...e, node: nodeId, receivedAt: Date.now() });
          else end(reasonOf(result.errors));
        },
        error: (error) => end(reasonOf(error)),
        complete: () => end('complete'),
      },
    );
  }

  private resume(from: string, reason: string): void {
    if (this.stopped) return;
    if (reason.includes('CURSOR_EXPIRED') || ++this.restarts > 300) {
      this.failure = `lockEvents cannot resume after ${this.lastCursor} (${reason}, ${this.restarts} restarts)`;
      return;
    }
    const ids = this.nodes().map((n) => n.id);
    const to = ids[(ids.indexOf(from) + 1) % ids.length]!;
    this.resumes.push({ from, to, after: this.lastCursor, reason, at: Date.now() });
    this.timer = setTimeout(() => this.subscribe(to), 100);
  }
}

function cursorKey(cursor: string): [number, number] {
  const [index, position] = cursor.split(':').map(Number);
  return [index!, position!];
}

export interface Hold {
  readonly sessionId: string;
  readonly token: bigint;
  readonly granted: HistoryEvent;
  ended?: HistoryEvent;
}

/**
 * Replays a lock's history in log order: every GRANTED must find the lock free (the previous
 * hold ended by RELEASED with remaining 0, or LOST), be EXCLUSIVE, and carry a token above every
 * earlier one; every RELEASED/LOST must end the current hold; cursors strictly increase.
 */
export function checkExclusiveHistory(events: readonly HistoryEvent[]): { violations: string[]; holds: Hold[] } {
  const violations: string[] = [];
  const holds: Hold[] = [];
  let current: Hold | undefined;
  let lastToken = -1n;
  let lastCursor: [number, number] | undefined;
  for (const e of events) {
    const key = cursorKey(e.cursor);
    if (lastCursor && (key[0] < lastCursor[0] || (key[0] === lastCursor[0] && key[1] <= lastCursor[1]))) {
      violations.push(`cursor ${e.cursor} does not follow ${lastCursor.join(':')}`);
    }
    lastCursor = key;
    switch (e.type) {
      case 'GRANTED': {
        const token = BigInt(e.fencingToken ?? '-1');
        if (e.mode !== 'EXCLUSIVE') violations.push(`${e.cursor}: GRANTED ${token} in mode ${e.mode}`);
        if (current) {
          violations.push(`${e.cursor}: GRANTED ${token} to ${e.sessionId} while ${current.token} (${current.sessionId}) is held`);
        }
        if (token <= lastToken) violations.push(`${e.cursor}: token ${token} after ${lastToken}`);
        lastToken = token > lastToken ? token : lastToken;
        current = { sessionId: e.sessionId, token, granted: e };
        holds.push(current);
        break;
      }
      case 'RELEASED':
      case 'LOST': {
        const token = BigInt(e.fencingToken ?? '-1');
        if (!current || current.token !== token || current.sessionId !== e.sessionId) {
          violations.push(`${e.cursor}: ${e.type} ${token} of ${e.sessionId}, but the hold is ${current ? current.token : 'none'}`);
        } else if (e.type === 'LOST' || e.remaining === 0) {
          current.ended = e;
          current = undefined;
        }
        break;
      }
      case 'DOWNGRADED':
        violations.push(`${e.cursor}: DOWNGRADED ${e.fencingToken}: nobody downgrades here`);
        break;
      default:
        break;
    }
  }
  return { violations, holds };
}
