// Small facts about the local network that start-up, tests and benchmarks need.
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (for a server whose address must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
