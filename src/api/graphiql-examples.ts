/** The operations GraphiQL opens with, so a first visitor sees what to try. */
export const GRAPHIQL_DEFAULT_QUERY = `# Welcome to distsync.
# Paste your token into the Headers tab below:
#   { "Authorization": "Bearer <token printed by distsync dev>" }
# Then pick an operation with the run button.

query Whoami {
  node { id version address uptimeMs }
}

query ClusterView {
  cluster {
    nodes { id address self reachable lastSeenMs rttMs }
  }
}

mutation Ping {
  ping(message: "hello") { message nodeId receivedAt }
}

subscription WatchCluster {
  clusterEvents { sequence type nodeId at droppedBefore }
}
`;

export const GRAPHIQL_DEFAULT_HEADERS = `{
  "Authorization": "Bearer <token>"
}`;
