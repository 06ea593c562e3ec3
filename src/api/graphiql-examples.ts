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
];

export const GRAPHIQL_TABS = EXAMPLES.map((query) => ({
  query,
  headers: HEADERS,
  ...(query.includes('$message') ? { variables: '{ "message": "hello" }' } : {}),
}));

export const GRAPHIQL_DEFAULT_HEADERS = HEADERS;
