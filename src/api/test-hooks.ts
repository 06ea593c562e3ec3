/**
 * Test hooks, served only when the node runs with `--test-hooks` and only to admin tokens:
 * `POST /test/counter {"add": n}` replicates an increment of the meta group's test counter
 * and answers `{ total, writes, index }`; `GET /test/counter` answers the counter after a
 * linearizable read barrier; `POST /test/raft-load` runs a bounded proposal load inside
 * this node (the Raft benchmark). Multi-process tests use them to prove no acknowledged
 * write is lost. They are not part of the GraphQL schema.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import type { TestCounterModule } from '../cluster/test-counter.js';
import { TEST_COUNTER } from '../cluster/test-counter.js';
import type { MetaService } from '../services/meta-service.js';
import { hasScope, type TokenRegistry } from './auth.js';
import { runProposalLoad, type ProposalLoadOptions } from './proposal-load.js';

export const TEST_HOOK_PREFIX = '/test/';

export interface TestHooks {
  handle(req: IncomingMessage, res: ServerResponse, path: string): void;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    req.on('error', reject);
  });
}

export function createTestHooks(options: {
  readonly meta: MetaService;
  readonly counter: TestCounterModule;
  readonly tokens: TokenRegistry;
}): TestHooks {
  const run = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const principal = options.tokens.authenticate(req.headers.authorization);
    if (!principal || !hasScope(principal, 'admin')) return send(res, 401, { error: 'admin token required' });
    if (path === '/test/raft-load' && req.method === 'POST') {
      const body = (await readJson(req)) as Partial<Record<keyof ProposalLoadOptions, unknown>>;
      const int = (value: unknown, fallback: number, max: number) =>
        typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? Math.min(value, max) : fallback;
      return send(
        res,
        200,
        await runProposalLoad(options.meta, {
          concurrency: int(body.concurrency, 1, 4096),
          durationMs: int(body.durationMs, 5_000, 60_000),
          maxProposals: int(body.maxProposals, 1_000_000, 5_000_000),
          payloadBytes: int(body.payloadBytes, 256, 64 * 1024),
        }),
      );
    }
    if (path !== '/test/counter') return send(res, 404, { error: 'no such test hook' });
    if (req.method === 'POST') {
      const body = (await readJson(req)) as { add?: unknown };
      if (typeof body.add !== 'number' || !Number.isSafeInteger(body.add)) return send(res, 400, { error: 'add must be an integer' });
      return send(res, 200, await options.meta.propose(TEST_COUNTER, { add: body.add }));
    }
    await options.meta.readBarrier();
    return send(res, 200, { total: options.counter.total, writes: options.counter.writes, index: options.meta.appliedIndex() });
  };
  return {
    handle(req, res, path) {
      run(req, res, path).catch((error: unknown) => {
        const code = error instanceof GraphQLError ? error.extensions['code'] : 'INTERNAL';
        send(res, code === 'UNAVAILABLE' ? 503 : 500, { error: (error as Error).message, code });
      });
    },
  };
}
