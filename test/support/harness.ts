import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startEmbeddedNats, type EmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { Principals } from '../../src/adapters/bus/nats/auth/principals.ts';
import { CedarPolicyGate } from '../../src/adapters/policy/cedar/cedarGate.ts';
import { eventsReadCheck } from '../../src/service/access.ts';
import { TmuxTerminals } from '../../src/adapters/terminals/tmux/tmux.ts';
import { TermshareClient } from '../../src/cli/client.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/service/service.ts';
import { guestKey } from './participant.ts';
import { toolPath } from './tools.ts';
import { startTmateRelay, type TmateRelay } from './tmateRelay.ts';
import { startUptermd, type Relay } from './uptermd.ts';

export const OPERATOR = { kind: 'human', id: 'alice' } as const;

/** Operators may share read-only or read-write and manage shares; agents never read-write (the README's example, trimmed). */
export const TEST_POLICY = `
@id("operators-share")
permit (principal in Group::"operators", action in [Action::"share.start", Action::"share.extend", Action::"share.switch"], resource);

@id("operators-watch")
permit (principal in Group::"operators", action == Action::"events.read", resource);

@id("operators-manage")
permit (
  principal in Group::"operators",
  action in [Action::"share.stop", Action::"share.revoke", Action::"share.get", Action::"share.list", Action::"share.link", Action::"approval.list", Action::"handoff.get", Action::"handoff.release", Action::"audit.read"],
  resource
);

@id("no-rw-for-agents")
@reason("AI agents may not hold read-write shares")
forbid (principal is Agent, action == Action::"share.start", resource)
when { context.access == "read-write" };
`;
export const TEST_ENTITIES = [
  { uid: { type: 'Human', id: 'alice' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
  { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
];

export type Harness = {
  dir: string;
  nats: EmbeddedNats;
  relay: Relay;
  /** The loopback tmate relay, when asked for. */
  tmateRelay?: TmateRelay;
  svc: RunningService;
  /** Connected as the operator, human:alice. */
  client: TermshareClient;
  principals: Principals;
  /**
   * A client connected with `principal`'s own credentials (issued on first use; the server
   * reloads its accounts), one per principal. Closed by `stop`.
   */
  as(principal: string): Promise<TermshareClient>;
  tmux: TmuxTerminals;
  /** The harness's tmux socket name (`tmux -L`). */
  socket: string;
  config: Config;
  guestKey: string;
  /** A new tmux session on the harness socket, running a shell. */
  terminal(name: string): Promise<string>;
  /** Types a line into a terminal, as its owner at the keyboard would. */
  typeInto(name: string, line: string): Promise<void>;
  pane(name: string): Promise<string>;
  /** Stops the nats-server (SIGINT), as an outage would; the service keeps running and reconnects. */
  stopNats(): Promise<void>;
  /** Starts the nats-server again on the same port with the same JetStream store; `nats` is the new one. */
  startNats(): Promise<void>;
  stop(): Promise<void>;
};

/** Real nats-server, real uptermd on loopback, a tmux server of its own, and the service in-process. */
export async function startHarness(
  opts: { env?: Record<string, string>; policy?: string | null; entities?: unknown[]; tmate?: boolean; /** the service's logger (default: JSON on stderr) */ logger?: Logger } = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'termshare-test-'));
  // Authentication on, as in production: the operator's and the service's credentials first, then the server.
  if (opts.policy !== null) await writeFile(join(dir, 'policy.cedar'), opts.policy ?? TEST_POLICY);
  await writeFile(join(dir, 'entities.json'), JSON.stringify(opts.entities ?? TEST_ENTITIES));
  const readers = eventsReadCheck(new CedarPolicyGate(join(dir, 'policy.cedar'), join(dir, 'entities.json'), undefined, { watch: false }));
  const principals = new Principals(join(dir, 'state'), opts.env?.TERMSHARE_PREFIX ?? 'termshare', readers);
  await principals.ensure(`${OPERATOR.kind}:${OPERATOR.id}`);
  const natsDir = join(dir, 'state', 'nats');
  const nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: natsDir, authConfig: principals.paths.authConfig, preferredPort: 0 });
  const relay = await startUptermd(toolPath('uptermd')!);
  const tmateRelay = opts.tmate ? await startTmateRelay() : undefined;
  const socket = `ts-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const config = loadConfig({
    ...process.env,
    TERMSHARE_STATE_DIR: join(dir, 'state'),
    TERMSHARE_NATS_URL: nats.url,
    TERMSHARE_POLICY: join(dir, 'policy.cedar'),
    TERMSHARE_ENTITIES: join(dir, 'entities.json'),
    TERMSHARE_UPTERM_SERVER: relay.server,
    TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
    TERMSHARE_TMUX_SOCKET: socket,
    TERMSHARE_GRACE: '2',
    ...(tmateRelay ? { TERMSHARE_TMATE_SERVER: tmateRelay.server, TERMSHARE_TMATE_FINGERPRINT: tmateRelay.fingerprint } : {}),
    TERMSHARE_LOG_LEVEL: process.env.TERMSHARE_LOG_LEVEL ?? 'warn',
    ...opts.env,
  });
  // The harness runs its own nats-server: the service asks it to reload when the policy changes who reads events.
  const svc = await startService(config, opts.logger ?? createLogger(config.logLevel), { reloadNats: () => h.nats.reload() });
  const client = await TermshareClient.connect(nats.url, await readCredentials(principals.paths.operator));
  const others = new Map<string, TermshareClient>();
  const tmux = new TmuxTerminals(socket);
  const h: Harness = {
    dir,
    nats,
    relay,
    tmateRelay,
    svc,
    client,
    principals,
    as: async (principal) => {
      if (principal === `${OPERATOR.kind}:${OPERATOR.id}`) return client;
      const known = others.get(principal);
      if (known && !known.nc.isClosed()) return known;
      const live = (await principals.list()).find((p) => p.principal === principal && !p.revokedAt);
      if (!live) {
        await principals.add(principal);
        await h.nats.reload();
      }
      const creds = await readCredentials(live?.operator ? principals.paths.operator : principals.paths.of(principal));
      const c = await TermshareClient.connect(h.nats.url, creds);
      others.set(principal, c);
      return c;
    },
    tmux,
    socket,
    config,
    guestKey: await guestKey(dir),
    terminal: async (name) => {
      const r = await tmux.create(name, { cwd: dir, command: 'env PS1="$ " bash --norc --noprofile' });
      if (r.exitCode !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
      return `tmux:${name}`;
    },
    typeInto: async (name, line) => {
      await tmux.run(['send-keys', '-t', `=${name}:`, '-l', line]);
      await tmux.run(['send-keys', '-t', `=${name}:`, 'Enter']);
    },
    pane: async (name) => (await tmux.run(['capture-pane', '-p', '-J', '-t', `=${name}:`])).stdout,
    stopNats: () => h.nats.stop(),
    startNats: async () => {
      h.nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: natsDir, authConfig: principals.paths.authConfig, preferredPort: h.nats.port });
      if (h.nats.port !== nats.port) throw new Error(`nats-server could not take port ${nats.port} again`);
    },
    stop: async () => {
      await svc.stop();
      await client.close();
      await Promise.all([...others.values()].map((c) => c.close().catch(() => undefined)));
      await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
      await relay.stop();
      await tmateRelay?.stop();
      await h.nats.stop();
      // Reapers of ended backends may still be removing their homes under it: rm retries ENOTEMPTY.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
  return h;
}

