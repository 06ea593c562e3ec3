import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

const TOKENS = 'admin:0123456789abcdef0123';
const base = ['--id', 'n1', '--listen', '127.0.0.1:4001', '--tokens', TOKENS];

function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults and parses peers', () => {
    const config = loadConfig(
      [...base, '--peers', 'n2=127.0.0.1:4002,n3=[::1]:4003', '--cluster-secret', 'sixteen-chars-ok!'],
      {},
    );
    expect(config.peers).toEqual([
      { id: 'n2', address: '127.0.0.1:4002' },
      { id: 'n3', address: '[::1]:4003' },
    ]);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 4001 });
    expect(config.advertise).toEqual(config.listen);
    expect(config.heartbeatIntervalMs).toBe(200);
    expect(config.graphiql).toBe(true);
    expect(config.dataDir).toMatch(/data[/\\]n1$/);
    expect(config.tokens).toEqual([{ scope: 'admin', token: '0123456789abcdef0123' }]);
  });

  it('reads DISTSYNC_* variables, and flags win over them', () => {
    const env = { DISTSYNC_ID: 'from-env', DISTSYNC_LISTEN: '127.0.0.1:5000', DISTSYNC_TOKENS: TOKENS, DISTSYNC_GRAPHIQL: 'false', DISTSYNC_HEARTBEAT_INTERVAL_MS: '100' };
    const config = loadConfig(['--listen', '127.0.0.1:6000'], env);
    expect(config.id).toBe('from-env');
    expect(config.listen.port).toBe(6000);
    expect(config.graphiql).toBe(false);
    expect(config.heartbeatIntervalMs).toBe(100);
  });

  it.each([
    [['--id', 'n1', '--listen', 'nope', '--tokens', TOKENS], /^distsync: invalid setting --listen \(DISTSYNC_LISTEN\): expected host:port/],
    [['--listen', '127.0.0.1:1', '--tokens', TOKENS], /--id \(DISTSYNC_ID\): is required/],
    [['--id', 'bad id!', '--listen', '127.0.0.1:1', '--tokens', TOKENS], /--id \(DISTSYNC_ID\)/],
    [[...base, '--peers', 'n2=127.0.0.1:4002'], /--cluster-secret \(DISTSYNC_CLUSTER_SECRET\): is required when peers/],
    [[...base, '--peers', 'n1=127.0.0.1:4002', '--cluster-secret', 'sixteen-chars-ok!'], /--peers .*own id/],
    [[...base, '--peers', 'n2'], /--peers .*expected id=host:port/],
    [['--id', 'n1', '--listen', '127.0.0.1:1', '--tokens', 'root:0123456789abcdef0123'], /--tokens .*scope read, write or admin/],
    [['--id', 'n1', '--listen', '127.0.0.1:1', '--tokens', 'admin:short'], /--tokens .*at least 16/],
    [[...base, '--heartbeat-interval-ms', 'fast'], /--heartbeat-interval-ms/],
    [[...base, '--heartbeat-interval-ms', '500', '--failure-timeout-ms', '600'], /--failure-timeout-ms .*twice the heartbeat/],
    [[...base, '--log-level', 'loud'], /--log-level/],
    [[...base, '--graphiql', 'maybe'], /--graphiql/],
    [[...base, '--no-such-flag', 'x'], /Unknown option '--no-such-flag'/],
  ])('refuses %j with one line naming the setting', (argv, pattern) => {
    const message = errorOf(argv);
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  it('names the env variable when the bad value came from the environment', () => {
    expect(errorOf(['--id', 'n1', '--tokens', TOKENS], { DISTSYNC_LISTEN: '127.0.0.1:99999' })).toMatch(
      /--listen \(DISTSYNC_LISTEN\): expected host:port, got "127.0.0.1:99999"/,
    );
  });
});
