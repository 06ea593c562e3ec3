/**
 * Target 1, the floor: a bare `node:http` server that drains a POST body and answers with a
 * small JSON body of the same shape and size as the ping result. No JSON parsing, no auth, no
 * GraphQL: whatever the other targets cost beyond this is their own work, not HTTP's.
 *
 * Run as its own process (`node --import tsx bench/servers/bare-http.ts`); listens on an
 * OS-chosen port on 127.0.0.1 and prints one line `{"port":N}` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  // Drain the body before answering, as any real handler must.
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = `{"data":{"ping":{"message":"hello","nodeId":"bare","receivedAt":${Date.now()}}}}`;
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
