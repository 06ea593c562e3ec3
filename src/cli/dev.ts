/**
 * `distsync dev`: a local cluster of child processes for development. Generates tokens
 * and a cluster secret, prints every GraphiQL URL and a ready-to-paste Authorization
 * header, and stops every child on Ctrl-C or when one fails to start.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from './local-cluster.js';

export async function runDev(argv: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        nodes: { type: 'string', default: '3' },
        'base-port': { type: 'string', default: '4001' },
        'data-dir': { type: 'string', default: 'data' },
        'log-level': { type: 'string', default: 'warn' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`distsync dev: ${(error as Error).message}\n`);
    return 2;
  }
  const nodes = Number(values.nodes);
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
    process.stderr.write(`distsync dev: invalid setting --nodes: expected 1 to 9, got "${values.nodes}"\n`);
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65_000) {
    process.stderr.write(`distsync dev: invalid setting --base-port: expected a port, got "${values['base-port']}"\n`);
    return 2;
  }

  const cluster = await LocalCluster.create({
    nodes,
    basePort,
    dataRoot: path.resolve(values['data-dir']),
    logLevel: values['log-level'],
    echoOutput: true,
  });

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`distsync dev: ${why}: stopping ${nodes} node(s)\n`);
    await cluster.stopAll();
  };
  process.once('SIGINT', () => void stop('interrupted').then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop('terminated').then(() => process.exit(0)));

  try {
    await cluster.startAll();
  } catch (error) {
    process.stderr.write(`distsync dev: a node failed to start:\n${(error as Error).message}\n`);
    await stop('start failed');
    return 1;
  }

  for (const node of cluster.nodes) {
    node.child?.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`distsync dev: node ${node.id} exited (code ${code}, signal ${signal})\n`);
    });
  }

  const lines = [
    '',
    `distsync dev: ${nodes} node(s) running, data under ${path.resolve(values['data-dir'])}`,
    ...cluster.nodes.map((n) => `  ${n.id}  GraphiQL: http://127.0.0.1:${n.port}/graphql`),
    '',
    'Admin token, as the header to paste into GraphiQL (Headers tab):',
    `  Authorization: Bearer ${cluster.adminToken}`,
    `  { "Authorization": "Bearer ${cluster.adminToken}" }`,
    `Read-only token: Authorization: Bearer ${cluster.readToken}`,
    '',
    'Ctrl-C stops the cluster.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  await new Promise<never>(() => {
    // runs until a signal handler exits the process
  });
  return 0;
}
