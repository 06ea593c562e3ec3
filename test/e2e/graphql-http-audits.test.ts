/**
 * graphql-http's GraphQL-over-HTTP server audits against the node, so the lean POST path
 * and yoga's adapter together keep the spec's MUST rules. SHOULD/MAY findings ("warn")
 * are listed in the test output; the known ones are pinned so a new one is noticed.
 */
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node.js';
import { bearer, startTestNode } from '../helpers/test-node.js';

let node: RunningNode;
beforeAll(async () => {
  node = await startTestNode({ id: 'audit' });
});
afterAll(() => node.stop());

/** Every audit request carries a read token, as a real client would. */
const authorizedFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('authorization', bearer('read'));
  return fetch(input, { ...init, headers });
};

describe('GraphQL-over-HTTP audits', () => {
  const audits = serverAudits({ url: () => `${node.url}/graphql`, fetchFn: authorizedFetch });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status === 'error') {
        throw new Error(`${result.reason}${'response' in result ? `\n${JSON.stringify(result)}` : ''}`);
      }
      // MUST audits have to pass outright; SHOULD/MAY ones may warn.
      if (audit.name.startsWith('MUST')) expect(result.status).toBe('ok');
    });
  }
});
