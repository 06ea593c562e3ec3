// A lock holder in its own process, for SIGSTOP tests. It opens a session (DS_TTL ms) kept
// alive only by its lockLost subscription over graphql-ws, acquires DS_LOCK, writes once to
// the fenced resource with its token and reports `holding`. On the line "write" on stdin it
// writes again with the same token (the late write of a holder that was paused), and it
// reports every lockLost event. It ends once it has written late and heard SESSION_ENDED.
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { acquire, gqlAny, lifetime, report } from './client.mjs';

const urls = process.env.DS_URLS.split(',');
const token = process.env.DS_TOKEN;
const resource = process.env.DS_RESOURCE;
const name = process.env.DS_LOCK;
const ttl = Number(process.env.DS_TTL ?? 3000);
lifetime(90_000);

let held;
let lost;
let lateDone = false;
let ended = false;
const finish = () => {
  if (!lateDone || !ended) return;
  report('done');
  setTimeout(() => process.exit(0), 50);
};

async function write(tokenText) {
  const res = await fetch(`${resource}/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client: 'paused-child', token: tokenText }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = await res.text();
  return { status: res.status, body };
}

const opened = await gqlAny(urls, token, 'mutation($ttl: Int!) { openSession(ttlMs: $ttl) { id expiresAt } }', { ttl });
const sessionId = opened.openSession.id;
report('session', { sessionId, expiresAt: opened.openSession.expiresAt, node: urls[0] });

const ws = createClient({
  url: `${urls[0].replace(/^http/, 'ws')}/graphql`,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { authorization: `Bearer ${token}` },
  onNonLazyError: (error) => report('ws-error', { message: String(error?.message ?? error) }),
});
ws.subscribe(
  { query: 'subscription($s: ID!) { lockLost(sessionId: $s) { cursor type name fencingToken } }', variables: { s: sessionId } },
  {
    next: (result) => {
      const e = result.data?.lockLost;
      if (!e) {
        report('lost-error', { errors: result.errors });
        return;
      }
      if (e.type === 'LOST') lost ??= { ...e, at: Date.now() };
      report('lost', { type: e.type, name: e.name, fencingToken: e.fencingToken, cursor: e.cursor, lateWriteDone: lateDone });
      if (e.type === 'SESSION_ENDED') {
        ended = true;
        finish();
      }
    },
    error: (error) => report('lost-stream-error', { message: String(error?.message ?? error?.reason ?? error) }),
    complete: () => report('lost-stream-complete'),
  },
);
// Let the subscription start (and take over renewing the session) before acquiring.
await new Promise((r) => setTimeout(r, 300));

const grant = await acquire(urls, token, name, sessionId, 20_000, `paused-${process.pid}`);
held = grant.fencingToken;
const first = await write(held);
report('holding', { token: held, sessionId, expiresAt: grant.expiresAt, write: first.status });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'write' || lateDone) return;
  void (async () => {
    const heardLost = lost !== undefined;
    const late = await write(held);
    report('late-write', { token: held, status: late.status, body: late.body, heardLostBefore: heardLost });
    lateDone = true;
    finish();
  })();
});
