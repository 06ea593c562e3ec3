/**
 * Envelop plugin counting GraphQL operations and timing their execution. It sits in the
 * shared pipeline, so the lean HTTP path, yoga's own path and graphql-ws all report here.
 * It runs on every operation, so it allocates little: an operation's labels are worked out
 * once per parsed document (documents are cached) and the metric children are reused.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { NodeMetrics } from './metrics.js';

interface OperationLabels {
  readonly name: string | undefined;
  readonly type: string;
}

export function useOperationMetrics(metrics: NodeMetrics): Plugin {
  const described = new WeakMap<DocumentNode, Map<string, OperationLabels>>();

  const describe = (document: DocumentNode, operationName: string | null | undefined): OperationLabels => {
    let byName = described.get(document);
    if (!byName) {
      byName = new Map();
      described.set(document, byName);
    }
    const key = operationName ?? '';
    let labels = byName.get(key);
    if (!labels) {
      const operation = getOperationAST(document, operationName);
      labels = { name: operation?.name?.value ?? operationName ?? undefined, type: operation?.operation ?? 'unknown' };
      byName.set(key, labels);
    }
    return labels;
  };

  return {
    onValidate({ params }) {
      return ({ result }) => {
        if (result.length > 0) {
          const { name, type } = describe(params.documentAST as DocumentNode, undefined);
          metrics.recordOperation(name, type, 'invalid');
        }
      };
    },
    onExecute({ args }) {
      const started = performance.now();
      const { name, type } = describe(args.document as DocumentNode, args.operationName as string | undefined);
      return {
        onExecuteDone({ result }) {
          const failed = 'errors' in result && Array.isArray(result.errors) && result.errors.length > 0;
          metrics.recordOperation(name, type, failed ? 'error' : 'success', (performance.now() - started) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const { name } = describe(args.document as DocumentNode, args.operationName as string | undefined);
      return {
        onSubscribeResult({ result }) {
          const failed = 'errors' in result && Array.isArray(result.errors) && result.errors.length > 0;
          metrics.recordOperation(name, 'subscription', failed ? 'error' : 'success');
        },
      };
    },
  };
}
