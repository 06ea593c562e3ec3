/**
 * The node's configuration: one zod schema, the single place where settings are
 * validated. Values arrive as strings from flags or DISTSYNC_* variables and leave
 * typed; a bad value is reported by the setting's name and the reason.
 */
import { z } from 'zod';

export const SCOPES = ['read', 'write', 'admin'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type Scope = (typeof SCOPES)[number];

export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseHostPort(value: string): HostPort | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65_535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

const hostPort = z.string().transform((value, ctx) => {
  const parsed = parseHostPort(value);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got "${value}"` });
    return z.NEVER;
  }
  return parsed;
});

const nodeId = z.string().regex(NODE_ID, 'expected 1-63 letters, digits, "-" or "_"');

const peerList = z.string().transform((value, ctx) => {
  const peers: Array<{ id: string; address: string }> = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [id, address, extra] = item.split('=');
    if (!id || !address || extra !== undefined || !NODE_ID.test(id) || !parseHostPort(address)) {
      ctx.addIssue({ code: 'custom', message: `expected id=host:port[,id=host:port...], got "${item}"` });
      return z.NEVER;
    }
    if (peers.some((p) => p.id === id)) {
      ctx.addIssue({ code: 'custom', message: `peer "${id}" is listed twice` });
      return z.NEVER;
    }
    peers.push({ id, address });
  }
  return peers;
});

export interface TokenGrant {
  readonly token: string;
  readonly scope: Scope;
}

const tokenList = z.string().transform((value, ctx) => {
  const grants: TokenGrant[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = item.indexOf(':');
    const scope = item.slice(0, colon);
    const token = item.slice(colon + 1);
    if (colon < 0 || !(SCOPES as readonly string[]).includes(scope)) {
      ctx.addIssue({ code: 'custom', message: 'expected scope:token[,scope:token...] with scope read, write or admin' });
      return z.NEVER;
    }
    if (!/^[\x21-\x7e]{16,}$/.test(token)) {
      ctx.addIssue({ code: 'custom', message: `a ${scope} token must be at least 16 printable characters` });
      return z.NEVER;
    }
    grants.push({ token, scope: scope as Scope });
  }
  if (grants.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'at least one token is required' });
    return z.NEVER;
  }
  return grants;
});

const stringList = z.string().transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean));

const positiveInt = (min: number, max: number) =>
  z.coerce.number().int('expected a whole number').min(min).max(max);

export const configSchema = z
  .object({
    id: nodeId,
    listen: hostPort,
    advertise: hostPort.optional(),
    peers: peerList.default([]),
    dataDir: z.string().min(1).optional(),
    clusterSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    tokens: tokenList,
    logLevel: z.enum(LOG_LEVELS).default('info'),
    heartbeatIntervalMs: positiveInt(10, 60_000).default(200),
    failureTimeoutMs: positiveInt(50, 600_000).default(2_000),
    corsOrigins: stringList.default([]),
    maxFrameBytes: positiveInt(1_024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
    sendQueueBytes: positiveInt(1_024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
    maxRequestBytes: positiveInt(1_024, 256 * 1024 * 1024).default(1024 * 1024),
    graphiql: z.stringbool().default(true),
    fsync: z.enum(['always', 'batch']).default('always'),
    raftTickMs: positiveInt(5, 10_000).default(100),
    electionTicks: positiveInt(2, 1_000).default(5),
    requestTimeoutMs: positiveInt(100, 600_000).default(5_000),
    testHooks: z.stringbool().default(false),
    join: z.stringbool().default(false),
    clusterId: z.string().regex(/^[0-9a-f]{16}$/, 'expected the 16 hex digits `cluster { id }` shows').optional(),
  })
  .superRefine((config, ctx) => {
    if (config.peers.some((p) => p.id === config.id)) {
      ctx.addIssue({ code: 'custom', path: ['peers'], message: `must not list this node's own id "${config.id}"` });
    }
    if (config.peers.length > 0 && !config.clusterSecret) {
      ctx.addIssue({ code: 'custom', path: ['clusterSecret'], message: 'is required when peers are configured' });
    }
    if (config.failureTimeoutMs < 2 * config.heartbeatIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['failureTimeoutMs'],
        message: `must be at least twice the heartbeat interval (${config.heartbeatIntervalMs} ms)`,
      });
    }
    if (config.join && !config.clusterId) {
      ctx.addIssue({ code: 'custom', path: ['clusterId'], message: 'is required with --join (ask any member: cluster { id })' });
    }
    const advertised = config.advertise ?? config.listen;
    if (['0.0.0.0', '::'].includes(advertised.host)) {
      ctx.addIssue({ code: 'custom', path: ['advertise'], message: 'is required when listening on a wildcard address' });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** The validated configuration with every default resolved. */
export interface NodeConfig extends Omit<ParsedConfig, 'dataDir' | 'clusterSecret' | 'advertise'> {
  readonly dataDir: string;
  readonly clusterSecret: string;
  readonly advertise: HostPort;
}

export function formatAddress(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
