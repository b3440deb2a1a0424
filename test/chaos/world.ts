import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import type { Share } from '../../src/api/schemas.ts';
import type { TermshareClient } from '../../src/cli/client.ts';
import { authedNats, operatorClient, serviceConnection } from '../support/auth.ts';
import { TEST_ENTITIES, TEST_POLICY } from '../support/harness.ts';
import { HumanClient } from '../support/humanClient.ts';
import { guestKey, type Participant } from '../support/participant.ts';
import { termshareBin } from '../support/serveProcess.ts';
import { startTmateRelay, type TmateRelay } from '../support/tmateRelay.ts';
import { toolPath } from '../support/tools.ts';
import { startUptermd, type Relay } from '../support/uptermd.ts';

const POLICY = `${TEST_POLICY}
permit (principal in Group::"operators", action == Action::"handoff.request", resource);
`;

export type Terminal = { name: string; shellPid: number; mark: string; human: HumanClient; closed: boolean };
/** A participant of one share, on the link it joined by; `exempt`: the documented uptermd 0.24 case (plain ssh, upterm SIGKILLed). */
export type Guest = { p: Participant; shareId: string; link: string; keepalive: boolean; exempt: boolean };
/** What the test asked for and the service granted: the audit records each must have left. */
export type Asked = { shareId: string; terminal: string; correlationId: string; extended: number; switched: number };

/**
 * The real parts of a chaos run: an external nats-server (so it can be stopped and started under a
 * running service), uptermd, the tmate stand-in relay, `termshare serve` as a child process, a tmux
 * server whose terminals each have their operator attached, and ssh participants.
 */
export class World {
  serve!: ResultPromise;
  serveRuns = 0;
  nats!: EmbeddedNats;
  relay!: Relay;
  tmate!: TmateRelay;
  client!: TermshareClient;
  /** The service's own credentials: the audit stream and badge bucket, which principals cannot read. */
  svcNc!: NatsConnection;
  guestKey!: string;
  readonly terminals = new Map<string, Terminal>();
  readonly guests: Guest[] = [];
  readonly shares = new Map<string, Asked>();
  readonly handoffs = new Map<string, { terminal: string }>();
  private made = 0;

  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly env: Record<string, string>,
  ) {}

  get stateDir(): string {
    return this.env.TERMSHARE_STATE_DIR!;
  }

  static async start(terminals = 3): Promise<World> {
    // Short: upterm's admin socket path under the state dir must fit in 107 bytes.
    const dir = await mkdtemp(join(tmpdir(), 'tsc-'));
    await writeFile(join(dir, 'policy.cedar'), POLICY);
    await writeFile(join(dir, 'entities.json'), JSON.stringify(TEST_ENTITIES));
    const relay = await startUptermd(toolPath('uptermd')!);
    const tmate = await startTmateRelay();
    const state = join(dir, 'state');
    const { nats } = await authedNats(state);
    const w = new World(dir, `chaos-${process.pid}`, {
      ...(process.env as Record<string, string>),
      TERMSHARE_STATE_DIR: state,
      TERMSHARE_NATS_URL: nats.url,
      TERMSHARE_POLICY: join(dir, 'policy.cedar'),
      TERMSHARE_ENTITIES: join(dir, 'entities.json'),
      TERMSHARE_UPTERM_SERVER: relay.server,
      TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
      TERMSHARE_TMATE_SERVER: tmate.server,
      TERMSHARE_TMATE_FINGERPRINT: tmate.fingerprint,
      TERMSHARE_TMUX_SOCKET: `chaos-${process.pid}`,
      TERMSHARE_OPERATOR: 'human:alice',
      TERMSHARE_GRACE: '2',
      TERMSHARE_LOG_LEVEL: process.env.TERMSHARE_LOG_LEVEL ?? 'error',
    });
    Object.assign(w, { nats, relay, tmate, guestKey: await guestKey(dir) });
    await w.startServe();
    w.client = await operatorClient(state, nats.url);
    w.svcNc = await serviceConnection(state, nats.url);
    for (let i = 0; i < terminals; i++) await w.newTerminal();
    return w;
  }

  /** `termshare serve` on the external NATS, resolved at its ready line. */
  async startServe(): Promise<void> {
    const serve: ResultPromise = execa('node', [termshareBin, 'serve'], { env: this.env, extendEnv: false, reject: false, buffer: false, stdout: 'pipe', stderr: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: serve.stdout! }).on('line', (l) => l.startsWith('termshare ready') && resolve());
      void serve.then((r) => reject(new Error(`serve exited early: ${r.exitCode}`)));
    });
    this.serve = serve;
    this.serveRuns++;
  }

  /** A new tmux session running a shell with a line in its scrollback, its operator attached. */
  async newTerminal(): Promise<Terminal> {
    const name = `t${this.made++}`;
    await this.tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'env PS1="$ " bash --norc --noprofile');
    await this.tmux('send-keys', '-t', `=${name}:`, '-l', `echo mark-$((6*7))-${name}`);
    await this.tmux('send-keys', '-t', `=${name}:`, 'Enter');
    const shellPid = Number((await this.tmux('display-message', '-p', '-t', `=${name}:`, '#{pane_pid}')).stdout.trim());
    const t: Terminal = { name, shellPid, mark: `mark-42-${name}`, human: await HumanClient.attach(this.socket, name), closed: false };
    this.terminals.set(name, t);
    return t;
  }

  tmux(...args: string[]) {
    return execa('tmux', ['-L', this.socket, ...args], { reject: false });
  }

  openTerminals(): Terminal[] {
    return [...this.terminals.values()].filter((t) => !t.closed);
  }

  /** The service's view of one share; `undefined` when it does not know it (ended before a restart). */
  async share(id: string): Promise<Share | undefined> {
    const r = await this.client.request<{ share: Share }>('share.get', { shareId: id }, 10_000);
    if (r.ok) return r.value.share;
    if (r.code === 'not_found') return undefined;
    throw new Error(`share.get ${id}: ${r.code} ${r.message}`);
  }

  async liveShares(): Promise<Share[]> {
    const r = await this.client.request<{ shares: Share[] }>('share.list', {}, 10_000);
    if (!r.ok) throw new Error(`share.list: ${r.code} ${r.message}`);
    return r.value.shares.filter((s) => ['awaiting-approval', 'starting', 'active', 'expiring'].includes(s.state));
  }

  async stop(): Promise<void> {
    this.serve?.kill('SIGTERM');
    await this.serve;
    await Promise.all(this.guests.map((g) => g.p.close()));
    await Promise.all([...this.terminals.values()].map((t) => t.human.close()));
    await this.client?.close().catch(() => undefined);
    await this.svcNc?.close().catch(() => undefined);
    await this.tmux('kill-server');
    await this.relay?.stop();
    await this.tmate?.stop();
    await this.nats?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
