/**
 * The slice of a logger the storage layer needs; a pino `Logger` (src/log.ts) satisfies it.
 * Kept minimal so the WAL and its tests do not depend on pino.
 */
export interface WalLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export const silentWalLogger: WalLogger = {
  info: () => undefined,
  warn: () => undefined,
};
