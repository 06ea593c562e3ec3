/**
 * Binds a graphql-ws protocol server (makeServer) to a `ws` WebSocketServer. It replaces
 * graphql-ws's stock `useServer` binding for two reasons:
 * - Writes: the stock binding awaits each frame's flush before sending the next, so every
 *   operation costs two socket writes (next, then complete). Here frames sent in the same
 *   tick are corked into one write, and a send waits only when the socket's buffer is above
 *   a bound (backpressure for slow clients, no wait otherwise).
 * - Liveness: the server pings every pingIntervalMs and terminates a connection whose oldest
 *   unanswered ping is deadAfterMs old. Each connection's liveness (since when a ping has gone
 *   unanswered) is handed to the layers above, which renew lock sessions only while the
 *   client keeps answering.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import { corkForTick, rawSocketOf } from '../util/cork.js';

/** How a graphql-ws connection answers the server's pings (a LiveConnection for session renewal). */
export interface ConnectionLiveness {
  /** When the oldest ping still unanswered was sent (monotonic ms), or undefined if none is. */
  unansweredSince(): number | undefined;
  /** Monotonic milliseconds, the clock unansweredSince() is on. */
  now(): number;
  readonly closed: boolean;
  /** Runs once when the connection closes (at once if it already has). */
  onClose(listener: () => void): () => void;
}

export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  readonly liveness: ConnectionLiveness;
}

export interface BindingOptions {
  readonly pingIntervalMs: number;
  /** A connection whose oldest unanswered ping is this old is terminated. */
  readonly deadAfterMs: number;
  /** Above this many buffered bytes a send waits for the socket to drain. */
  readonly highWaterBytes?: number;
  readonly logger: Logger;
}

const DEFAULT_HIGH_WATER = 1024 * 1024;

function monotonicMs(): number {
  return performance.now();
}

function waitForDrain(ws: WebSocket, raw: Socket | undefined): Promise<void> {
  if (!raw) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      ws.off('close', done);
      resolve();
    };
    raw.once('drain', done);
    ws.once('close', done);
  });
}

export function bindGraphQLWs<P extends Record<string, unknown> | undefined>(
  serverOptions: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  options: BindingOptions,
): { dispose(): Promise<void> } {
  const server = makeServer<P, WsExtra>(serverOptions);
  const highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
  const log = options.logger.child({ component: 'graphql-ws' });
  wss.options.handleProtocols = handleProtocols;

  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const raw = rawSocketOf(ws);
    ws.once('error', (error) => {
      log.warn({ err: error }, 'graphql-ws socket error');
      ws.terminate();
    });

    let unansweredSince: number | undefined;
    const closeListeners = new Set<() => void>();
    const liveness = {
      closed: false,
      unansweredSince: () => unansweredSince,
      now: monotonicMs,
      onClose(listener: () => void): () => void {
        if (liveness.closed) {
          listener();
          return () => undefined;
        }
        closeListeners.add(listener);
        return () => closeListeners.delete(listener);
      },
    };
    const pinger = setInterval(() => {
      const now = monotonicMs();
      if (unansweredSince !== undefined && now - unansweredSince >= options.deadAfterMs) {
        ws.terminate(); // the client is gone or paused
        return;
      }
      unansweredSince ??= now;
      ws.ping();
    }, options.pingIntervalMs);
    pinger.unref();
    // A pong answers every ping sent before it (a client answers in order).
    ws.on('pong', () => {
      unansweredSince = undefined;
    });

    const closed = server.opened(
      {
        protocol: ws.protocol,
        send: (data) => {
          if (ws.readyState !== ws.OPEN) return;
          corkForTick(raw);
          ws.send(data);
          if (ws.bufferedAmount > highWater) return waitForDrain(ws, raw);
        },
        close: (code, reason) => ws.close(code, reason),
        onMessage: (handler) => {
          ws.on('message', (data: Buffer) => {
            handler(data.toString('utf8')).catch((error: unknown) => {
              log.error({ err: error }, 'graphql-ws message handling failed');
              ws.close(CloseCode.InternalServerError, 'Internal server error');
            });
          });
        },
      },
      { socket: ws, request, liveness },
    );

    ws.once('close', (code, reason) => {
      clearInterval(pinger);
      liveness.closed = true;
      for (const listener of [...closeListeners]) {
        try {
          listener();
        } catch (error) {
          log.error({ err: error }, 'connection close listener threw');
        }
      }
      closeListeners.clear();
      void closed(code, reason.toString('utf8'));
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
