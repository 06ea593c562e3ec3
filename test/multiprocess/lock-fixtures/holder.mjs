// A lock holder in its own process, for kill -9 tests. It opens a session (DS_TTL ms) on
// DS_URL, renews it with keepAlive every second, acquires DS_LOCK and reports `holding`,
// then keeps renewing (reporting each renewal) until it is killed.
import { acquire, gql, lifetime, report } from './client.mjs';

const url = process.env.DS_URL;
const token = process.env.DS_TOKEN;
const name = process.env.DS_LOCK;
const ttl = Number(process.env.DS_TTL ?? 3000);
lifetime(90_000);

const opened = await gql(url, token, 'mutation($ttl: Int!) { openSession(ttlMs: $ttl) { id expiresAt } }', { ttl });
const sessionId = opened.openSession.id;
report('session', { sessionId, expiresAt: opened.openSession.expiresAt });

setInterval(() => {
  const sentAt = Date.now();
  gql(url, token, 'mutation($s: ID!) { keepAlive(sessionId: $s) { expiresAt } }', { s: sessionId }, 1_000).then(
    (data) => report('keepalive', { sentAt, expiresAt: data.keepAlive.expiresAt }),
    (error) => report('keepalive-failed', { sentAt, code: error.code ?? String(error) }),
  );
}, 1_000);

const grant = await acquire([url], token, name, sessionId, 10_000, `holder-${process.pid}`);
report('holding', { token: grant.fencingToken, sessionId, expiresAt: grant.expiresAt });
