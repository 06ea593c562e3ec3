/**
 * Envelop plugin counting GraphQL operations and timing their execution. It sits in the
 * shared pipeline, so the lean HTTP path, yoga's own path and graphql-ws all report here.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { NodeMetrics } from './metrics.js';

function describe(document: DocumentNode, operationName: string | null | undefined): { name?: string; type: string } {
  const operation = getOperationAST(document, operationName);
  return { name: operation?.name?.value ?? operationName ?? undefined, type: operation?.operation ?? 'unknown' };
}

export function useOperationMetrics(metrics: NodeMetrics): Plugin {
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
