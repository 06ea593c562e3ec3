/**
 * Field scopes: a field declares the token scopes that may call it (`authScopes: { write: true }`;
 * any one listed scope suffices, and scopes nest: admin ⊇ write ⊇ read). The check runs before
 * the field's resolver, and for a subscription field once, when the subscription starts.
 * Refused calls get FORBIDDEN naming the field.
 *
 * This stands in for @pothos/plugin-scope-auth with the same field option. This schema uses
 * none of that plugin's general machinery (scope loaders, per-request caches, type scopes, grant
 * scopes, async checks), which cost about a quarter of a small operation's throughput here
 * (docs/benchmarks.md); the check below is one comparison per guarded field.
 */
import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  type SchemaTypes,
  type TypeParam,
} from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { hasScope, type Principal } from '../src/api/auth.js';
import type { Scope } from '../src/config/schema.js';
import { appError } from '../src/errors.js';

/** Scopes that may call a field; at least one must be listed. */
export type FieldScopes = Partial<Record<Scope, true>>;

export const FIELD_SCOPES_PLUGIN = 'fieldScopes';

/* eslint-disable @typescript-eslint/no-namespace, @typescript-eslint/no-unused-vars --
   Pothos plugins add options by merging into its global namespace, with its type parameters. */
declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      fieldScopes: FieldScopesPlugin<Types>;
    }
    interface FieldOptions<
      Types extends SchemaTypes,
      ParentShape,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveShape,
      ResolveReturnShape,
    > {
      /** The token scopes that may call this field (any one of them). */
      authScopes?: FieldScopes;
    }
  }
}
/* eslint-enable @typescript-eslint/no-namespace, @typescript-eslint/no-unused-vars */

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

export class FieldScopesPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    // A subscription field is checked once in wrapSubscribe, not for every event.
    if (fieldConfig.kind === 'Subscription') return resolver;
    const guard = guardFor(fieldConfig);
    if (!guard) return resolver;
    return (parent, args, context, info) => {
      guard(context);
      return resolver(parent, args, context, info);
    };
  }

  override wrapSubscribe(
    subscribe: Resolver<Types> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): Resolver<Types> | undefined {
    if (!subscribe || fieldConfig.kind !== 'Subscription') return subscribe;
    const guard = guardFor(fieldConfig);
    if (!guard) return subscribe;
    return (parent, args, context, info) => {
      guard(context);
      return subscribe(parent, args, context, info);
    };
  }
}

/** The check for one field, or undefined when the field declares no scopes. */
function guardFor<Types extends SchemaTypes>(
  fieldConfig: PothosOutputFieldConfig<Types>,
): ((context: unknown) => void) | undefined {
  const declared = (fieldConfig.pothosOptions as { authScopes?: FieldScopes }).authScopes;
  if (!declared) return undefined;
  const scopes = (Object.keys(declared) as Scope[]).filter((scope) => declared[scope] === true);
  const field = `${fieldConfig.parentType}.${fieldConfig.name}`;
  if (scopes.length === 0) throw new Error(`${field}: authScopes lists no scope`);
  return (context) => {
    const principal = (context as { principal?: Principal }).principal;
    if (!principal || !scopes.some((scope) => hasScope(principal, scope))) {
      throw appError('FORBIDDEN', `${field} needs a token with a larger scope`);
    }
  };
}

SchemaBuilder.registerPlugin(FIELD_SCOPES_PLUGIN, FieldScopesPlugin);
