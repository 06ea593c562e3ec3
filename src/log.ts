/**
 * Structured logs (pino). One root logger per node; each component takes a child
 * (`logger.child({ component: 'peer-link' })`). Secrets never reach the output.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level: string;
  readonly nodeId?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level,
    base: options.nodeId ? { node: options.nodeId } : {},
    redact: {
      paths: ['clusterSecret', 'token', 'tokens', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}

/** A logger that prints nothing, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
