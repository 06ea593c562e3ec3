/**
 * The yoga instance: schema, authentication in context building, masked errors,
 * metrics, GraphiQL. Every transport (yoga's HTTP adapter, the lean POST path and
 * graphql-ws) runs operations through this instance's envelop pipeline.
 */
import type { GraphQLSchema } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../log.js';
import { appError } from '../errors.js';
import type { Principal, TokenRegistry } from './auth.js';
import type { GraphQLContext, NodeServices } from './context.js';
import { renderLocalGraphiQL } from './graphiql-assets.js';
import { GRAPHIQL_DEFAULT_HEADERS, GRAPHIQL_TABS } from './graphiql-examples.js';
import type { NodeMetrics } from './metrics.js';
import { useOperationMetrics } from './metrics-plugin.js';
import type { ConnectionLiveness } from './graphql-ws-binding.js';

/** What a transport hands to context building before authentication. */
export interface ServerContext {
  /** Set by graphql-ws, which authenticates once per connection. */
  readonly principal?: Principal;
  /** Set by graphql-ws: how the connection answers pings (lock sessions renew by it). */
  readonly connection?: ConnectionLiveness;
  /** Set by graphql-ws and the lean HTTP path: runs a listener if the client leaves before its answer. */
  readonly abandoned?: (listener: () => void) => () => void;
}

interface HeaderSource {
  readonly request?: { readonly headers: { get(name: string): string | null } };
}

export type GraphQLApp = YogaServerInstance<ServerContext, GraphQLContext>;

export interface GraphQLAppOptions {
  readonly schema: GraphQLSchema;
  readonly services: NodeServices;
  readonly tokens: TokenRegistry;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly corsOrigins: readonly string[];
  readonly graphiql: boolean;
  readonly maxRequestBytes: number;
}

export function createGraphQLApp(options: GraphQLAppOptions): GraphQLApp {
  const log = options.logger.child({ component: 'graphql' });
  return createYoga<ServerContext, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    maxRequestBodySize: options.maxRequestBytes,
    logging: {
      debug: (...args: unknown[]) => log.debug(args.map(String).join(' ')),
      info: (...args: unknown[]) => log.info(args.map(String).join(' ')),
      warn: (...args: unknown[]) => log.warn(args.map(String).join(' ')),
      error: (...args: unknown[]) => log.error({ err: args[0] }, 'graphql error'),
    },
    cors: options.corsOrigins.length > 0 ? { origin: [...options.corsOrigins], credentials: false } : false,
    graphiql: options.graphiql
      ? {
          title: 'distsync',
          defaultTabs: GRAPHIQL_TABS,
          defaultHeaders: GRAPHIQL_DEFAULT_HEADERS,
          shouldPersistHeaders: true,
        }
      : false,
    renderGraphiQL: renderLocalGraphiQL,
    plugins: [useOperationMetrics(options.metrics)],
    context: (initial: ServerContext & HeaderSource) => {
      const principal =
        initial.principal ?? options.tokens.authenticate(initial.request?.headers.get('authorization'));
      if (!principal) {
        options.metrics.recordOperation(undefined, 'unknown', 'unauthenticated');
        throw appError('UNAUTHENTICATED');
      }
      // One shape for every transport (absent fields are undefined), so resolvers' reads stay monomorphic.
      return {
        principal,
        services: options.services,
        connection: initial.connection,
        abandoned: initial.abandoned,
      };
    },
  });
}
