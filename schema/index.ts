/**
 * Builds the GraphQL schema: types first, then the root fields from resolvers/.
 * The printed, sorted SDL of this schema is checked in as schema/schema.graphql.
 */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './node.js';
import './cluster.js';
import '../resolvers/index.js';

let built: GraphQLSchema | undefined;

export function buildSchema(): GraphQLSchema {
  built ??= builder.toSchema({ sortSchema: true });
  return built;
}

export function printSortedSchema(): string {
  return printSchema(lexicographicSortSchema(buildSchema())) + '\n';
}
