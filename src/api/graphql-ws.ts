/**
 * graphql-ws on /graphql (WebSocket upgrade). The bearer token comes in
 * `connectionParams.authorization` and is checked once in onConnect; a refused client is
 * closed with 4403. Each operation runs through yoga's envelop pipeline (onSubscribe
 * builds parse/validate/context/execute from getEnveloped), so plugins apply here too.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import type { Principal, TokenRegistry } from './auth.js';
import { bindGraphQLWs } from './graphql-ws-binding.js';
import { envelopedFor } from './enveloped.js';
import type { GraphQLApp } from './graphql-app.js';
import type { Preparation, PreparedDocuments } from './prepared-documents.js';

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

export interface GraphQLWsOptions {
  readonly yoga: GraphQLApp;
  readonly tokens: TokenRegistry;
  readonly maxPayloadBytes: number;
  /** Documents already parsed and validated through the pipeline (shared with the lean HTTP path). */
  readonly documents: PreparedDocuments;
  /** Milliseconds between server pings (they also pace lock-session renewal). */
  readonly pingIntervalMs?: number;
  /** A client that leaves a ping unanswered this long is disconnected. */
  readonly deadAfterMs?: number;
  readonly logger: Logger;
}

export interface GraphQLWsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clientCount(): number;
  close(): Promise<void>;
}

function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = params?.['authorization'] ?? params?.['Authorization'];
  return typeof value === 'string' ? value : undefined;
}

export function createGraphQLWsServer(options: GraphQLWsOptions): GraphQLWsServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const principals = new WeakMap<object, Principal>();

  const disposable = bindGraphQLWs(
    {
      onConnect: (ctx) => {
        const principal = options.tokens.authenticate(authorizationOf(ctx.connectionParams));
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        principals.set(ctx.extra.socket, principal);
        return true;
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const principal = principals.get(ctx.extra.socket);
        const enveloped = envelopedFor(options.yoga, {
          principal,
          params: payload,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          connection: ctx.extra.liveness,
          abandoned: (listener: () => void) => ctx.extra.liveness.onClose(listener),
        });
        let preparation: Preparation;
        try {
          preparation = options.documents.prepare(enveloped, payload.query);
        } catch (error) {
          // A syntax error answers this operation only; the connection stays open.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        if (!preparation.ok) return [...preparation.errors];
        const rootValue: EnvelopedRoot = { execute: enveloped.execute, subscribe: enveloped.subscribe };
        return {
          schema: enveloped.schema,
          document: preparation.prepared.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue,
        };
      },
    },
    wss,
    { pingIntervalMs: options.pingIntervalMs ?? 1_000, deadAfterMs: options.deadAfterMs ?? 12_000, logger: options.logger },
  );

  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    clientCount: () => wss.clients.size,
    close: () => disposable.dispose(),
  };
}
