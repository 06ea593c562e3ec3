/**
 * A minimal GraphQL-over-HTTP client for load generation: POST /graphql with a ready JSON
 * body, on its own keep-alive agent with one socket, so each client holds one connection the
 * way a graphql-ws client does. A non-2xx status or a body that is not JSON rejects; a
 * GraphQL result with `errors` resolves, for the caller to count.
 */
import http from 'node:http';
import type { GraphQLResult } from './lite-ws.js';

export class LiteHttpClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;

  constructor(
    url: string,
    private readonly authorization: string,
    private readonly timeoutMs = 30_000,
  ) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port);
    this.path = parsed.pathname;
  }

  /** Runs one operation; `body` is `{"query":…,"variables":…}`. */
  request(body: string): Promise<GraphQLResult> {
    return new Promise<GraphQLResult>((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          path: this.path,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: this.authorization,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: GraphQLResult;
            try {
              parsed = JSON.parse(text) as GraphQLResult;
            } catch {
              reject(new Error(`HTTP ${status}: body is not JSON: ${text.slice(0, 200)}`));
              return;
            }
            // GraphQL-over-HTTP answers some errors with 4xx and a GraphQL body: count them as results.
            if ((status < 200 || status > 299) && parsed.errors === undefined) {
              reject(new Error(`HTTP ${status}: ${text.slice(0, 200)}`));
            } else {
              resolve(parsed);
            }
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Drops the connection; a request still in flight rejects. */
  close(): void {
    this.agent.destroy();
  }
}
