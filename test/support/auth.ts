import { join } from 'node:path';
import { connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { Principals, authPaths } from '../../src/adapters/bus/nats/auth/principals.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import { TermshareClient } from '../../src/cli/client.ts';

/**
 * A nats-server with termshare's accounts, as `serve` would run it, for a service started
 * separately (TERMSHARE_NATS_URL): the state dir's principals first, the server on top.
 */
export async function authedNats(stateDir: string, opts: { operator?: string; port?: number } = {}): Promise<{ nats: EmbeddedNats; principals: Principals }> {
  const principals = new Principals(stateDir, 'termshare');
  await principals.ensure(opts.operator ?? 'human:alice');
  const nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(stateDir, 'nats'), authConfig: principals.paths.authConfig, preferredPort: opts.port ?? 0 });
  return { nats, principals };
}

/**
 * The service's own connection, for tests that look inside JetStream (the audit stream, the
 * badge bucket) the way only the service can; principals have no JetStream access.
 */
export async function serviceConnection(stateDir: string, url: string, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const creds = await readCredentials(authPaths(stateDir).service);
  return connect({ servers: url, authenticator: nkeyAuthenticator(creds.seed), ...opts });
}

/** The local operator's client, as `termshare` commands connect by default. */
export async function operatorClient(stateDir: string, url: string): Promise<TermshareClient> {
  return TermshareClient.connect(url, await readCredentials(authPaths(stateDir).operator));
}
