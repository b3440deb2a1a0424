import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import ssh2 from 'ssh2';
import type { ServerChannel } from 'ssh2';

/**
 * A loopback stand-in for tmate-ssh-server: enough of the tmate protocol (tmate-protocol.h, 2.4)
 * for a real tmate client to become ready and show its links. It hosts no viewers.
 */
export type TmateRelayMode = 'normal' | 'never-ready' | 'drop';

export type TmateRelay = {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:PORT`, as TmateBackend's `server` option takes it. */
  server: string;
  /** `SHA256:...` of the relay's ed25519 host key, as `tmate-server-ed25519-fingerprint` expects it. */
  fingerprint: string;
  /** Every msgpack message the clients sent, in order. */
  received: unknown[];
  /** Links handed to each client that became ready, newest last. */
  sessions: { ssh: string; sshReadOnly: string; web: string; webReadOnly: string }[];
  setMode(mode: TmateRelayMode): void;
  /**
   * Types into the newest ready session as a viewer whose keys no relay-side binding took: the relay
   * forwards each byte to the host as a pane key (LEGACY_PANE_KEY: the active pane), as tmate-ssh-server does.
   */
  typeAsViewer(bytes: Buffer): void;
  /** Closes every client connection (a relay drop). */
  dropAll(): void;
  stop(): Promise<void>;
};

/** Client-to-relay message types (enum tmate_daemon_out_msg_types). */
export const TmateOut = { HEADER: 0, SYNC_LAYOUT: 1, PTY_DATA: 2, EXEC_CMD_STR: 3, FAILED_CMD: 4, STATUS: 5, SYNC_COPY_MODE: 6, WRITE_COPY_MODE: 7, FIN: 8, READY: 9, RECONNECT: 10, SNAPSHOT: 11, EXEC_CMD: 12 } as const;
/** Relay-to-client message types (enum tmate_daemon_in_msg_types). */
export const TmateIn = { NOTIFY: 0, LEGACY_PANE_KEY: 1, RESIZE: 2, EXEC_CMD_STR: 3, SET_ENV: 4, READY: 5, PANE_KEY: 6, EXEC_CMD: 7 } as const;

export async function startTmateRelay(opts: { mode?: TmateRelayMode; numClients?: number } = {}): Promise<TmateRelay> {
  let mode: TmateRelayMode = opts.mode ?? 'normal';
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const parsed = ssh2.utils.parseKey(keys.public);
  if (parsed instanceof Error) throw parsed;
  const blob = (Array.isArray(parsed) ? parsed[0]! : parsed).getPublicSSH();
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const received: unknown[] = [];
  const sessions: TmateRelay['sessions'] = [];
  const conns = new Set<ssh2.Connection>();
  const viewers: ((msg: unknown[]) => void)[] = [];
  let port = 0;

  const server = new ssh2.Server(
    {
      hostKeys: [keys.private],
      // tmate (libssh) asks for zlib compression, which ssh2 speaks; "none" stays on offer for other clients.
      algorithms: { compress: ['none', 'zlib@openssh.com', 'zlib'] },
    },
    (conn) => {
      conns.add(conn);
      conn.on('close', () => conns.delete(conn));
      conn.on('error', () => conns.delete(conn));
      if (mode === 'drop') {
        conn.end();
        return;
      }
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => {
        conn.on('session', (accept) => {
          const session = accept();
          session.on('subsystem', (acceptSub, reject, info) => {
            if (info.name !== 'tmate') {
              reject?.();
              return;
            }
            serve(acceptSub(), conn);
          });
        });
      });
    },
  );

  function serve(channel: ServerChannel, conn: ssh2.Connection): void {
    const send = (msg: unknown[]) => {
      if (channel.writable) channel.write(Buffer.from(encode(msg)));
    };
    channel.on('error', () => {});
    channel.on('close', () => conn.end());
    void (async () => {
      try {
        for await (const msg of decodeMultiStream(channel as AsyncIterable<Uint8Array>)) onMessage(msg);
      } catch {
        conn.end();
      }
    })();

    function onMessage(msg: unknown): void {
      received.push(msg);
      if (!Array.isArray(msg) || msg[0] !== TmateOut.HEADER) return;
      if (mode !== 'normal') return;
      const token = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
      const links = {
        sshReadOnly: `ssh -p ${port} ro-${token}@127.0.0.1`,
        ssh: `ssh -p ${port} ${token}@127.0.0.1`,
        webReadOnly: `http://127.0.0.1:${port}/t/ro-${token}`,
        web: `http://127.0.0.1:${port}/t/${token}`,
      };
      send([TmateIn.SET_ENV, 'tmate_ssh_ro', links.sshReadOnly]);
      send([TmateIn.SET_ENV, 'tmate_ssh', links.ssh]);
      send([TmateIn.SET_ENV, 'tmate_web_ro', links.webReadOnly]);
      send([TmateIn.SET_ENV, 'tmate_web', links.web]);
      if (opts.numClients !== undefined) send([TmateIn.SET_ENV, 'tmate_num_clients', String(opts.numClients)]);
      send([TmateIn.READY]);
      sessions.push(links);
      viewers.push(send);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    server: `127.0.0.1:${port}`,
    fingerprint,
    received,
    sessions,
    setMode: (m) => (mode = m),
    typeAsViewer: (bytes) => {
      const send = viewers.at(-1);
      if (!send) throw new Error('no tmate session is ready on this relay');
      for (const b of bytes) send([TmateIn.LEGACY_PANE_KEY, b]);
    },
    dropAll: () => {
      for (const c of conns) c.end();
    },
    stop: async () => {
      for (const c of conns) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
