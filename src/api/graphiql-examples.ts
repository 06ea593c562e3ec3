/** What GraphiQL opens with: one tab per example operation and a header to fill in. */
const HEADERS = `{
  "Authorization": "Bearer <token printed by distsync dev>"
}`;

const EXAMPLES = [
  `# Paste your token into the Headers tab below, then run.
query Whoami {
  node { id version address uptimeMs }
}`,
  `query ClusterView {
  cluster {
    nodes { id address self reachable lastSeenMs rttMs }
  }
}`,
  `mutation Ping($message: String!) {
  ping(message: $message) { message nodeId receivedAt }
}`,
  `subscription WatchCluster {
  clusterEvents { sequence type nodeId at droppedBefore }
}`,
  `# Open a session, then paste its id into the variables and run the others.
mutation OpenSession {
  openSession(ttlMs: 30000) { id expiresAt }
}

mutation Acquire($sessionId: ID!) {
  acquireLock(name: "orders/42", mode: EXCLUSIVE, sessionId: $sessionId, timeoutMs: 5000) {
    status fencingToken expiresAt
  }
}

mutation Release($sessionId: ID!, $token: Int64!) {
  releaseLock(name: "orders/42", sessionId: $sessionId, fencingToken: $token) { remaining }
}

query Lock {
  lock(name: "orders/42") { holders { sessionId mode fencingToken } waiters { requestId sessionId mode } }
}`,
  `subscription WatchLock {
  lockEvents(name: "orders/42") { cursor type sessionId fencingToken }
}`,
];

export const GRAPHIQL_TABS = EXAMPLES.map((query) => ({
  query,
  headers: HEADERS,
  ...(query.includes('$message') ? { variables: '{ "message": "hello" }' } : {}),
  ...(query.includes('$sessionId') ? { variables: '{ "sessionId": "ses_…", "token": "1" }' } : {}),
}));

export const GRAPHIQL_DEFAULT_HEADERS = HEADERS;
