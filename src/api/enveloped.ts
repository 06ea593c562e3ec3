/**
 * A typed view of yoga's envelop pipeline for one operation (envelop's own types are
 * loose). The lean HTTP path and graphql-ws both run operations through this.
 */
import type { DocumentNode, ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import type { GraphQLApp } from './graphql-app.js';

export interface EnvelopedOperation {
  readonly schema: GraphQLSchema;
  readonly parse: (source: string) => DocumentNode;
  readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  readonly contextFactory: () => unknown;
  readonly execute: (args: ExecutionArgs) => unknown;
  readonly subscribe: (args: ExecutionArgs) => unknown;
}

/** Starts one operation's pipeline with the transport's initial context. */
export function envelopedFor(yoga: GraphQLApp, initialContext: Record<string, unknown>): EnvelopedOperation {
  return yoga.getEnveloped(initialContext);
}
