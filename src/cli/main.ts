#!/usr/bin/env node
/** The `distsync` command: `start` runs one node, `dev` a local cluster. */
import { runDev } from './dev.js';
import { runStart } from './start.js';

const USAGE = `usage:
  distsync start --id ID --listen HOST:PORT [--peers ID=HOST:PORT,...] [--data-dir DIR]
                 [--cluster-secret S] --tokens SCOPE:TOKEN[,...] [--log-level LEVEL] ...
  distsync dev [--nodes N] [--base-port PORT] [--data-dir DIR] [--log-level LEVEL]

Every start flag can also be set as DISTSYNC_<FLAG> (e.g. DISTSYNC_LISTEN); flags win.
See docs/configuration.md for every setting.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart(rest);
    case 'dev':
      return runDev(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`distsync: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`distsync: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
