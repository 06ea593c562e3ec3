import SchemaBuilder from '@pothos/core';
import { parse, subscribe, execute, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/api/auth.js';
import { FIELD_SCOPES_PLUGIN } from '../../../schema/field-scopes.js';

function buildTestSchema() {
  const builder = new SchemaBuilder<{ Context: { principal?: Principal } }>({ plugins: [FIELD_SCOPES_PLUGIN] });
  const subscribed: string[] = [];
  builder.queryType({
    fields: (t) => ({
      open: t.string({ resolve: () => 'open' }),
      reading: t.string({ authScopes: { read: true }, resolve: () => 'reading' }),
      administering: t.string({ authScopes: { admin: true }, resolve: () => 'administering' }),
      eitherOf: t.string({ authScopes: { admin: true, write: true }, resolve: () => 'eitherOf' }),
    }),
  });
  builder.mutationType({
    fields: (t) => ({ writing: t.string({ authScopes: { write: true }, resolve: () => 'writing' }) }),
  });
  builder.subscriptionType({
    fields: (t) => ({
      ticks: t.int({
        authScopes: { write: true },
        subscribe: (_root, _args, context) => {
          subscribed.push(context.principal?.id ?? 'nobody');
          return ticks(3);
        },
        resolve: (value: number) => value,
      }),
    }),
  });
  return { schema: builder.toSchema(), subscribed };
}

async function* ticks(count: number): AsyncGenerator<number> {
  for (let i = 1; i <= count; i++) {
    await Promise.resolve();
    yield i;
  }
}

const as = (scope: Principal['scope']): { principal: Principal } => ({ principal: { id: `tok_${scope}`, scope } });

async function run(source: string, contextValue: object): Promise<ExecutionResult> {
  const { schema } = buildTestSchema();
  return await execute({ schema, document: parse(source), contextValue });
}

describe('field scopes', () => {
  it('lets a token with the declared scope, or a larger one, call the field', async () => {
    expect((await run('{ reading }', as('read'))).data).toEqual({ reading: 'reading' });
    expect((await run('{ reading }', as('admin'))).data).toEqual({ reading: 'reading' });
    expect((await run('mutation { writing }', as('write'))).data).toEqual({ writing: 'writing' });
    expect((await run('{ eitherOf }', as('write'))).data).toEqual({ eitherOf: 'eitherOf' });
  });

  it('refuses a smaller scope with FORBIDDEN naming the field, and leaves other fields answered', async () => {
    const result = await run('{ open reading administering }', as('read'));
    expect(result.data).toEqual({ open: 'open', reading: 'reading', administering: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.message).toBe('Query.administering needs a token with a larger scope');
    expect(result.errors?.[0]?.path).toEqual(['administering']);

    const mutation = await run('mutation { writing }', as('read'));
    expect(mutation.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('refuses a context without a principal', async () => {
    const result = await run('{ reading }', {});
    expect(result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('leaves a field without authScopes unguarded', async () => {
    expect((await run('{ open }', {})).data).toEqual({ open: 'open' });
  });

  it('checks a subscription once, when it starts, and not for each event', async () => {
    const { schema, subscribed } = buildTestSchema();
    const refused = (await subscribe({ schema, document: parse('subscription { ticks }'), contextValue: as('read') })) as ExecutionResult;
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(subscribed).toEqual([]);

    const context = as('write');
    const stream = (await subscribe({ schema, document: parse('subscription { ticks }'), contextValue: context })) as AsyncIterable<ExecutionResult>;
    const seen: unknown[] = [];
    for await (const event of stream) {
      seen.push(event.data?.['ticks']);
      // A scope taken away mid-stream does not end it: the grant was checked at the start.
      context.principal = { id: 'tok_write', scope: 'read' };
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(subscribed).toEqual(['tok_write']);
  });

  it('refuses to build a field whose authScopes lists no scope', () => {
    const builder = new SchemaBuilder<{ Context: { principal?: Principal } }>({ plugins: [FIELD_SCOPES_PLUGIN] });
    builder.queryType({ fields: (t) => ({ broken: t.string({ authScopes: {}, resolve: () => 'x' }) }) });
    expect(() => builder.toSchema()).toThrow(/Query.broken: authScopes lists no scope/);
  });
});
