/**
 * A fenced resource on loopback: a counter that accepts "increment with token T" only when
 * T is at least the highest token it accepted before (else 409), and records every attempt.
 * POST /write {"client": "...", "token": "42"}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Attempt {
  readonly client: string;
  readonly token: bigint;
  readonly accepted: boolean;
  readonly at: number;
  /** The highest accepted token when the attempt arrived. */
  readonly highestBefore: bigint;
}

export interface FencedResource {
  readonly url: string;
  readonly attempts: Attempt[];
  counter(): number;
  highest(): bigint;
  close(): Promise<void>;
}

export async function startFencedResource(): Promise<FencedResource> {
  const attempts: Attempt[] = [];
  let counter = 0;
  let highest = -1n;
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      let client: string;
      let token: bigint;
      try {
        const body = JSON.parse(text) as { client: string; token: string };
        client = String(body.client);
        token = BigInt(body.token);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const accepted = token >= highest;
      attempts.push({ client, token, accepted, at: Date.now(), highestBefore: highest });
      if (accepted) {
        counter++;
        highest = token;
      }
      res.writeHead(accepted ? 200 : 409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ counter, highest: highest.toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    counter: () => counter,
    highest: () => highest,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes to the resource; the HTTP status (200 accepted, 409 stale token). */
export async function writeFenced(url: string, client: string, token: string): Promise<number> {
  const res = await fetch(`${url}/write`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client, token }),
    signal: AbortSignal.timeout(5_000),
  });
  await res.arrayBuffer();
  return res.status;
}
