// Small facts about the local network that start-up, tests and benchmarks need.
import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now (for a server whose address must be known before it starts).
 * Drawn below Linux's ephemeral range (32768–60999): a port from that range, free when chosen, could be
 * taken by any outgoing connection before its server binds it (a dev server of the tests failed so).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
