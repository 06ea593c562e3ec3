/**
 * Reads configuration from command-line flags and DISTSYNC_* environment variables
 * (flags win), validates it with the one schema, and reports the first bad setting in
 * one line naming both spellings, e.g. `invalid setting --listen (DISTSYNC_LISTEN): ...`.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configSchema, type NodeConfig } from './schema.js';

/** Setting key → flag name; the env name is DISTSYNC_ + the flag in upper snake case. */
export const SETTINGS = {
  id: 'id',
  listen: 'listen',
  advertise: 'advertise',
  peers: 'peers',
  dataDir: 'data-dir',
  clusterSecret: 'cluster-secret',
  tokens: 'tokens',
  logLevel: 'log-level',
  heartbeatIntervalMs: 'heartbeat-interval-ms',
  failureTimeoutMs: 'failure-timeout-ms',
  corsOrigins: 'cors-origins',
  maxFrameBytes: 'max-frame-bytes',
  sendQueueBytes: 'send-queue-bytes',
  maxRequestBytes: 'max-request-bytes',
  graphiql: 'graphiql',
  fsync: 'fsync',
  raftTickMs: 'raft-tick-ms',
  electionTicks: 'election-ticks',
  requestTimeoutMs: 'request-timeout-ms',
  testHooks: 'test-hooks',
  join: 'join',
  clusterId: 'cluster-id',
} as const;

type SettingKey = keyof typeof SETTINGS;

export function envName(key: SettingKey): string {
  return `DISTSYNC_${SETTINGS[key].toUpperCase().replace(/-/g, '_')}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Merges flags over env; unknown flags are errors, not silently ignored. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): NodeConfig {
  const options = Object.fromEntries(
    Object.values(SETTINGS).map((flag) => [flag, { type: 'string' as const }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`distsync: ${(error as Error).message}`);
  }
  const raw: Record<string, string> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const fromFlag = values[SETTINGS[key]];
    const value = typeof fromFlag === 'string' ? fromFlag : env[envName(key)];
    if (value !== undefined) raw[key] = value;
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path[0] as SettingKey | undefined;
    const where = key && key in SETTINGS ? `--${SETTINGS[key]} (${envName(key)})` : 'configuration';
    const missing = issue.code === 'invalid_type' && raw[key ?? ''] === undefined;
    throw new ConfigError(`distsync: invalid setting ${where}: ${missing ? 'is required' : issue.message}`);
  }
  const parsed = result.data;
  return {
    ...parsed,
    advertise: parsed.advertise ?? parsed.listen,
    dataDir: path.resolve(parsed.dataDir ?? path.join('data', parsed.id)),
    // A lone node needs no shared secret; one is made up so the peer server still refuses everyone.
    clusterSecret: parsed.clusterSecret ?? randomBytes(32).toString('hex'),
  };
}
