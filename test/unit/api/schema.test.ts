/**
 * Schema rules: every root field declares the scope it needs, 64-bit numbers are an
 * Int64 string scalar, and the checked-in SDL matches the code.
 */
import { readFileSync } from 'node:fs';
import { GraphQLError, Kind, parse, validate, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema, printSortedSchema } from '../../../schema/index.js';
import { GRAPHIQL_TABS } from '../../../src/api/graphiql-examples.js';

const schema = buildSchema();

describe('schema', () => {
  it('declares an auth scope on every root field', () => {
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
      (t): t is GraphQLObjectType => Boolean(t),
    );
    const missing: string[] = [];
    for (const root of roots) {
      for (const field of Object.values(root.getFields())) {
        const options = (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions;
        if (!options?.authScopes) missing.push(`${root.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('opens GraphiQL with example operations that are valid against the schema', () => {
    expect(GRAPHIQL_TABS.length).toBeGreaterThan(4);
    for (const tab of GRAPHIQL_TABS) expect(validate(schema, parse(tab.query)).map((e) => e.message)).toEqual([]);
  });

  it('matches the checked-in schema/schema.graphql', () => {
    const checkedIn = readFileSync(new URL('../../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(checkedIn.endsWith(printSortedSchema())).toBe(true);
  });

  it('Int64 round-trips values past 2^53 as strings and refuses numbers', () => {
    const int64 = schema.getType('Int64') as import('graphql').GraphQLScalarType;
    expect(int64.serialize(9007199254740993n)).toBe('9007199254740993');
    expect(int64.serialize(42)).toBe('42');
    expect(int64.parseValue('9223372036854775807')).toBe(9223372036854775807n);
    expect(() => int64.parseValue('9223372036854775808')).toThrow(GraphQLError);
    expect(() => int64.parseValue(42)).toThrow(GraphQLError);
    expect(() => int64.parseLiteral({ kind: Kind.INT, value: '1' })).toThrow(/strings/);
    expect(int64.parseLiteral({ kind: Kind.STRING, value: '-5' })).toBe(-5n);
  });
});
