/**
 * `distsync start`: runs one node until SIGINT/SIGTERM, then stops it cleanly.
 * A bad setting ends the process with one line naming it (exit code 2).
 */
import { ConfigError, loadConfig } from '../config/load.js';
import { startNode } from '../node.js';

export async function runStart(argv: readonly string[]): Promise<number> {
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let node;
  try {
    node = await startNode(config);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const why = err.code === 'EADDRINUSE' ? `address ${config.listen.host}:${config.listen.port} is in use` : err.message;
    process.stderr.write(`distsync: node ${config.id} failed to start: ${why}\n`);
    return 1;
  }
  const running = node;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`distsync: ${signal}: stopping node ${config.id}\n`);
      void running.stop().then(resolve, resolve);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  return 0;
}
