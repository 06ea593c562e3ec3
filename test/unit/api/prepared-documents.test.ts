import { buildSchema, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { EnvelopedOperation } from '../../../src/api/enveloped.js';
import { PreparedDocuments } from '../../../src/api/prepared-documents.js';

const SCHEMA = buildSchema(`
  type Query { a: Int, b: Int }
  type Mutation { m: Int }
  type Subscription { s: Int }
`);

/** A pipeline that counts how often its parse and validate run. */
function pipeline(schema: GraphQLSchema = SCHEMA) {
  const calls = { parse: 0, validate: 0 };
  const enveloped: EnvelopedOperation = {
    schema,
    parse: (source) => {
      calls.parse++;
      return parse(source);
    },
    validate: (s, document: DocumentNode) => {
      calls.validate++;
      return validate(s, document);
    },
    contextFactory: () => ({}),
    execute: () => undefined,
    subscribe: () => undefined,
  };
  return { enveloped, calls };
}

describe('PreparedDocuments', () => {
  it('runs the pipeline parse and validate once per query string, then answers from the cache', () => {
    const documents = new PreparedDocuments();
    const { enveloped, calls } = pipeline();
    const first = documents.prepare(enveloped, '{ a }');
    const second = documents.prepare(enveloped, '{ a }');
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.prepared.document).toBe(first.prepared.document);
    expect(calls).toEqual({ parse: 1, validate: 1 });
    documents.prepare(enveloped, '{ b }');
    expect(calls).toEqual({ parse: 2, validate: 2 });
  });

  it('never keeps an invalid document: each request validates again and gets the errors', () => {
    const documents = new PreparedDocuments();
    const { enveloped, calls } = pipeline();
    for (let i = 0; i < 3; i++) {
      const outcome = documents.prepare(enveloped, '{ nope }');
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.errors[0]?.message).toMatch(/Cannot query field "nope"/);
    }
    expect(calls).toEqual({ parse: 3, validate: 3 });
    expect(documents.size).toBe(0);
  });

  it('lets a syntax error from the pipeline through and keeps nothing', () => {
    const documents = new PreparedDocuments();
    const { enveloped } = pipeline();
    expect(() => documents.prepare(enveloped, '{ a')).toThrow(/Syntax Error/);
    expect(documents.size).toBe(0);
  });

  it('treats a document validated against another schema as a miss', () => {
    const documents = new PreparedDocuments();
    const one = pipeline();
    const other = pipeline(buildSchema('type Query { a: Int }'));
    documents.prepare(one.enveloped, '{ a }');
    documents.prepare(other.enveloped, '{ a }');
    expect(other.calls).toEqual({ parse: 1, validate: 1 });
    documents.prepare(other.enveloped, '{ a }');
    expect(other.calls).toEqual({ parse: 1, validate: 1 });
    expect(documents.size).toBe(1);
  });

  it('is bounded: past its capacity the oldest query string is evicted', () => {
    const documents = new PreparedDocuments(2);
    const { enveloped, calls } = pipeline();
    documents.prepare(enveloped, '{ a }');
    documents.prepare(enveloped, '{ b }');
    documents.prepare(enveloped, '{ a b }');
    expect(documents.size).toBe(2);
    documents.prepare(enveloped, '{ b }');
    expect(calls.parse).toBe(3);
    documents.prepare(enveloped, '{ a }');
    expect(calls.parse).toBe(4);
  });

  it('names the type of the operation an operationName selects', () => {
    const documents = new PreparedDocuments();
    const { enveloped } = pipeline();
    const outcome = documents.prepare(enveloped, 'query Q { a } mutation M { m } subscription S { s }');
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.prepared.operationType('Q')).toBe('query');
    expect(outcome.prepared.operationType('M')).toBe('mutation');
    expect(outcome.prepared.operationType('S')).toBe('subscription');
    expect(outcome.prepared.operationType('missing')).toBeUndefined();
    // Several operations and no name: none is selected.
    expect(outcome.prepared.operationType(undefined)).toBeUndefined();
  });
});
