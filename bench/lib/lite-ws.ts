/**
 * A minimal graphql-transport-ws client over `ws`, for load generation: connection_init with
 * `{ authorization }`, then `subscribe` messages whose payload the caller passes as a ready
 * JSON string (query and variables), resolved by the operation's `next` message. No retries,
 * no lazy connect, no per-operation objects beyond one pending entry: the load generator
 * shares the cores with the servers it measures.
 *
 * A transport failure (socket closed, protocol `error` message, `complete` without `next`)
 * rejects; a GraphQL result with `errors` resolves, for the caller to count.
 */
import WebSocket from 'ws';

export interface GraphQLResult {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string; readonly extensions?: { readonly code?: unknown } }[];
}

interface Pending {
  resolve(result: GraphQLResult): void;
  reject(error: Error): void;
}

interface ServerMessage {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

export class LiteWsClient {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private closedReason: string | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.onMessage(data.toString('utf8')));
    socket.on('close', (code, reason) => this.fail(`socket closed (${code}${reason.length > 0 ? ` ${reason.toString('utf8')}` : ''})`));
    socket.on('error', (error) => this.fail(`socket error: ${error.message}`));
  }

  /** Opens the socket and waits for connection_ack. */
  static connect(url: string, authorization: string, timeoutMs = 10_000): Promise<LiteWsClient> {
    return new Promise<LiteWsClient>((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
      const timer = setTimeout(() => settle(new Error(`${url}: no connection_ack within ${timeoutMs} ms`)), timeoutMs);
      const onAck = (data: Buffer): void => {
        const message = JSON.parse(data.toString('utf8')) as ServerMessage;
        if (message.type === 'connection_ack') settle(undefined);
      };
      const onClose = (code: number, reason: Buffer): void =>
        settle(new Error(`${url}: closed before connection_ack (${code} ${reason.toString('utf8')})`));
      const onError = (error: Error): void => settle(new Error(`${url}: ${error.message}`));
      socket.on('message', onAck);
      socket.once('close', onClose);
      socket.once('error', onError);
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
      });
      function settle(error: Error | undefined): void {
        clearTimeout(timer);
        socket.off('message', onAck);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (error) {
          socket.on('error', () => undefined);
          socket.terminate();
          reject(error);
        } else {
          resolve(new LiteWsClient(socket));
        }
      }
    });
  }

  /** Runs one operation; `payloadJson` is `{"query":…,"variables":…}`. */
  request(payloadJson: string): Promise<GraphQLResult> {
    if (this.closedReason !== undefined) return Promise.reject(new Error(this.closedReason));
    const id = String(++this.nextId);
    return new Promise<GraphQLResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(`{"id":"${id}","type":"subscribe","payload":${payloadJson}}`);
    });
  }

  /** Closes the socket; operations still pending reject. Bounded by `timeoutMs`. */
  close(timeoutMs = 2_000): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close(1000, 'done');
    });
  }

  private onMessage(text: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      this.fail(`not JSON from server: ${text.slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'next': {
        const pending = this.take(message.id);
        pending?.resolve(message.payload as GraphQLResult);
        return;
      }
      case 'error': {
        // A result with errors for this operation only (validation and the like).
        const pending = this.take(message.id);
        pending?.resolve({ errors: message.payload as GraphQLResult['errors'] });
        return;
      }
      case 'complete': {
        this.take(message.id)?.reject(new Error(`operation ${message.id} completed without a result`));
        return;
      }
      case 'ping':
        this.socket.send('{"type":"pong"}');
        return;
      default:
        return;
    }
  }

  private take(id: string | undefined): Pending | undefined {
    if (id === undefined) return undefined;
    const pending = this.pending.get(id);
    if (pending) this.pending.delete(id);
    return pending;
  }

  private fail(reason: string): void {
    this.closedReason ??= reason;
    const error = new Error(reason);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
