/**
 * The Pothos schema builder, and nothing else: type and field files import it, it
 * imports none of them. Every root field declares the scope it needs with `authScopes`
 * (schema/field-scopes.ts checks it; test/unit/api/schema.test.ts enforces the declaration).
 */
import SchemaBuilder from '@pothos/core';
import type { GraphQLContext } from '../src/api/context.js';
import { FIELD_SCOPES_PLUGIN } from './field-scopes.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    Int64: { Input: bigint; Output: bigint | number | string };
  };
}>({
  plugins: [FIELD_SCOPES_PLUGIN],
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
