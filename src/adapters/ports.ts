import { createServer } from 'node:net';

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen({ port, host: '127.0.0.1' }, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : undefined));
    });
  });
}

export const portFree = async (port: number) => (await listenOn(port)) !== undefined;

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const p = await listenOn(0);
  if (!p) throw new Error('no free loopback port');
  return p;
}
