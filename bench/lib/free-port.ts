/**
 * A free TCP port on 127.0.0.1, found by letting the OS pick one (listen on port 0) and
 * closing. Another process could take it before the caller binds it; for a bench started on
 * a quiet machine that window is acceptable, and a bind failure shows up as a failed start.
 */
import { createServer, type AddressInfo } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
