/**
 * Documents that already went through the pipeline's parse and validate, by query string.
 *
 * Yoga's own parser-and-validation cache makes the second parse of a query string and the
 * second validation of a document free of graphql-js work, but every request still runs
 * every onParse/onValidate hook around those cache lookups (yoga's engine re-adds all 28
 * validation rules, the cache joins their names into a key), which costs more than the
 * execution of a small operation. This cache sits one step earlier: the lean HTTP path and
 * graphql-ws ask it first, and only on a miss run the enveloped parse and validate, with all
 * their hooks. A document is kept only when validation passed, so every invalid request still
 * goes the whole way (and is counted as invalid by the metrics plugin).
 *
 * Entries remember the schema they were validated against: a different schema is a miss.
 * Bounded: a client sending ever-new query strings evicts the oldest entries.
 */
import {
  getOperationAST,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationTypeNode,
} from 'graphql';
import type { EnvelopedOperation } from './enveloped.js';

export const DEFAULT_PREPARED_DOCUMENTS = 1_000;

export interface PreparedDocument {
  readonly document: DocumentNode;
  /** The type of the operation `operationName` selects, or undefined when none is selected. */
  operationType(operationName: string | undefined): OperationTypeNode | undefined;
}

export type Preparation =
  | { readonly ok: true; readonly prepared: PreparedDocument }
  | { readonly ok: false; readonly errors: readonly GraphQLError[] };

interface Entry extends PreparedDocument {
  readonly schema: GraphQLSchema;
}

function entryFor(schema: GraphQLSchema, document: DocumentNode): Entry {
  const types = new Map<string, OperationTypeNode | undefined>();
  return {
    schema,
    document,
    operationType(operationName) {
      const key = operationName ?? '';
      if (types.has(key)) return types.get(key);
      const type = getOperationAST(document, operationName)?.operation;
      types.set(key, type);
      return type;
    },
  };
}

export class PreparedDocuments {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = DEFAULT_PREPARED_DOCUMENTS) {}

  /**
   * The document for `query`, parsed and validated through `enveloped` on a miss.
   * A syntax error is thrown by the pipeline's parse, as it would be without this cache.
   */
  prepare(enveloped: EnvelopedOperation, query: string): Preparation {
    const cached = this.entries.get(query);
    if (cached && cached.schema === enveloped.schema) return { ok: true, prepared: cached };

    const document = enveloped.parse(query);
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return { ok: false, errors };
    const entry = entryFor(enveloped.schema, document);
    if (cached) this.entries.delete(query);
    else if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(query, entry);
    return { ok: true, prepared: entry };
  }

  get size(): number {
    return this.entries.size;
  }
}
