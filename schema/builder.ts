/**
 * The Pothos schema builder, and nothing else: type and field files import it, it
 * imports none of them. Scope-auth comes first in the plugin list; every root field
 * declares the scope it needs (test/unit/schema-scopes.test.ts enforces it).
 */
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { hasScope } from '../src/api/auth.js';
import type { GraphQLContext } from '../src/api/context.js';
import { appError } from '../src/errors.js';

export interface AuthScopes {
  read: boolean;
  write: boolean;
  admin: boolean;
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    Int64: { Input: bigint; Output: bigint | number | string };
  };
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      read: hasScope(context.principal, 'read'),
      write: hasScope(context.principal, 'write'),
      admin: hasScope(context.principal, 'admin'),
    }),
    unauthorizedError: (_parent, _context, info) =>
      appError('FORBIDDEN', `${info.parentType.name}.${info.fieldName} needs a token with a larger scope`),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
