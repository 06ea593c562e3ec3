/**
 * Int64: 64-bit integers (Raft indexes and terms, fencing tokens) travel as decimal
 * strings, because GraphQL's Int is 32-bit and JSON numbers lose precision past 2^53.
 */
import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown): bigint {
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) {
    const n = BigInt(value);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  }
  throw new GraphQLError('Int64 expects a decimal string of a 64-bit integer', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.scalarType('Int64', {
  description: 'A 64-bit signed integer, written as a decimal string (for example "9007199254740993").',
  serialize: (value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'string') return toInt64(value).toString();
    throw new GraphQLError('Int64 cannot represent this value');
  },
  parseValue: (value) => toInt64(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError('Int64 literals are strings, for example "42"', {
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    return toInt64(ast.value);
  },
});
