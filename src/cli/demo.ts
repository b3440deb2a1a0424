import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { readCredentials } from '../adapters/bus/nats/auth/credentials.ts';
import { authPaths } from '../adapters/bus/nats/auth/principals.ts';
import { startLoopbackUptermd } from '../adapters/backends/upterm/relayProcess.ts';
import { freePort } from '../adapters/ports.ts';
import type { Share } from '../api/schemas.ts';
import { loadConfig, defaultToolsBin } from '../config.ts';
import { createLogger } from '../log.ts';
import { startPanel } from '../panel/server.ts';
import { startService } from '../service/service.ts';
import { TermshareClient } from './client.ts';

const root = join(import.meta.dirname, '..', '..');
const SOCKET = 'termshare-demo';
/** How long the demo waits for its own participant to show up before going on without one. */
const JOIN_BOUND_MS = 20_000;

const say = (line: string) => console.log(line);
const tmux = (...args: string[]) => execa('tmux', ['-L', SOCKET, ...args], { reject: false });

/** Resolves on Enter, or at once when there is nobody at a terminal to press it. */
function enterOrInterrupt(interrupted: Promise<void>, prompt: string, interactive: boolean): Promise<void> {
  if (!interactive) return Promise.resolve();
  say(prompt);
  const rl = createInterface({ input: process.stdin });
  return Promise.race([new Promise<void>((r) => rl.once('line', () => r())), interrupted]).finally(() => rl.close());
}

/** Polls (bounded) until `probe` holds: the demo waits on what it can observe, never a fixed sleep. */
async function until(probe: () => Promise<boolean>, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/**
 * The newcomer's tour: a loopback upterm relay, the service on its embedded NATS, a demo tmux
 * terminal shared through the CLI, a participant (a key pair of its own) joining over ssh in a
 * second tmux session, the lane panel, a revoke that drops the participant, and the share's
 * audit timeline. Ctrl-C (or the end of a non-interactive run) ends it all, the orderly way.
 */
export async function runDemo(opts: { once: boolean }): Promise<void> {
  const interactive = !opts.once && Boolean(process.stdin.isTTY);
  let interrupt!: () => void;
  const interrupted = new Promise<void>((r) => (interrupt = r));
  process.on('SIGINT', () => interrupt());

  const dir = process.env.TERMSHARE_DEMO_DIR ?? join(tmpdir(), `termshare-demo-${userInfo().username}`);
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  await copyFile(join(root, 'examples', 'policy.cedar'), join(dir, 'policy.cedar'));
  const me = userInfo().username;
  await writeFile(join(dir, 'entities.json'), JSON.stringify([
    { uid: { type: 'Human', id: me }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
    { uid: { type: 'Human', id: 'demo-lead' }, attrs: {}, parents: [{ type: 'Group', id: 'leads' }] },
    { uid: { type: 'Group', id: 'leads' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
    { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
  ], null, 2));

  // The demo's relay has a key of our making, so the service pins exactly that key (no trust on first use).
  const port = await freePort();
  const relay = await startLoopbackUptermd(join(defaultToolsBin(), 'uptermd'), port, stateDir, { ownGroup: true });
  relay.child.stderr!.resume();
  say(`demo: loopback upterm relay on ssh://127.0.0.1:${port}`);

  await tmux('kill-server');
  await tmux('new-session', '-d', '-s', 'demo', '-x', '120', '-y', '30', '-c', dir,
    `bash --norc -c 'echo "This is the demo terminal (tmux -L ${SOCKET} attach -t demo)."; exec bash --norc'`);
  say(`demo: terminal tmux:demo (attach yourself with: tmux -L ${SOCKET} attach -t demo)`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TERMSHARE_STATE_DIR: stateDir,
    TERMSHARE_POLICY: join(dir, 'policy.cedar'),
    TERMSHARE_ENTITIES: join(dir, 'entities.json'),
    TERMSHARE_UPTERM_SERVER: relay.server,
    TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
    TERMSHARE_TMUX_SOCKET: SOCKET,
    TERMSHARE_LOG_LEVEL: process.env.TERMSHARE_LOG_LEVEL ?? 'warn',
  };
  delete env.TERMSHARE_NATS_URL; // the demo is about the embedded default
  delete env.TERMSHARE_CREDS;
  const config = loadConfig(env);
  const svc = await startService(config, createLogger(config.logLevel));
  say(`termshare ready nats=${svc.natsUrl}`);
  say('\ndemo: from another terminal, reach this service with (its URL and your credentials are under that dir):');
  say(`  export TERMSHARE_STATE_DIR=${stateDir}`);
  say('  npx termshare status');

  const client = await TermshareClient.connect(svc.natsUrl, await readCredentials(authPaths(stateDir).operator));
  const panel = await startPanel(client, { log: () => undefined });
  const finish = async () => {
    await panel.close();
    await client.close();
    await svc.stop();
    await relay.stop();
    await tmux('kill-server');
  };

  const cliEnv = { ...env, TERMSHARE_NATS_URL: svc.natsUrl };
  const cli = (...args: string[]) => execa('node', [join(root, 'bin', 'termshare.js'), ...args], { env: cliEnv, stdout: 'inherit', stderr: 'inherit', reject: false });
  try {
    say('\n$ termshare share tmux:demo --ttl 600 --reason demo');
    const started = await execa('node', [join(root, 'bin', 'termshare.js'), 'share', 'tmux:demo', '--ttl', '600', '--reason', 'demo', '--json'], { env: cliEnv, reject: false });
    const share = (JSON.parse(started.stdout || '{}') as { share?: Share }).share;
    if (!share?.link) {
      say(`demo: the share did not start: ${started.stdout || started.stderr}`);
      return;
    }
    say(`share ${share.id} ${share.state}; join with: ${share.link.ssh}`);

    // A participant of our own: a fresh key pair, and ssh in a second tmux session on the demo's server.
    const key = join(dir, 'guest_ed25519');
    if (!existsSync(key)) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdin: 'ignore' });
    const [, target, sshPort] = share.link.ssh.match(/^ssh\s+(\S+)(?:\s+-p\s+(\d+))?$/) ?? [];
    const ssh = ['ssh', '-tt', '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...(sshPort ? ['-p', sshPort] : []), target!];
    await tmux('new-session', '-d', '-s', 'guest', '-x', '100', '-y', '30', ssh.join(' '), ';', 'set-option', '-t', 'guest', 'remain-on-exit', 'on');
    say(`\ndemo: a participant joins in a second tmux session (watch it: tmux -L ${SOCKET} attach -t guest)`);
    const joined = await until(async () => {
      const r = await client.request<{ share: Share }>('share.get', { shareId: share.id }, 2000);
      return r.ok && r.value.share.participants > 0;
    }, JOIN_BOUND_MS);
    say(joined ? 'demo: the participant joined' : `demo: no participant showed up within ${JOIN_BOUND_MS / 1000} s (see tmux -L ${SOCKET} attach -t guest)`);

    say('\n$ termshare status');
    await cli('status');
    say(`\ndemo: the lane panel (acting as ${client.principal}): ${panel.url}`);

    await enterOrInterrupt(interrupted, '\ndemo: press Enter to revoke the share (Ctrl-C ends the demo)', interactive);
    say(`\n$ termshare revoke ${share.id} --reason "demo over"`);
    await cli('revoke', share.id, '--reason', 'demo over');
    const dropped = await until(async () => (await tmux('display-message', '-p', '-t', 'guest', '#{pane_dead}')).stdout.trim() === '1', 5000);
    say(dropped ? 'demo: the participant was disconnected (its ssh ended)' : 'demo: the participant is still connected');

    say(`\n$ termshare audit show --share ${share.id}`);
    await cli('audit', 'show', '--share', share.id);

    if (interactive) {
      say('\ndemo: the service and the panel keep running for you to try; Ctrl-C ends the demo.');
      await interrupted;
    }
  } finally {
    await finish();
    say('\ndemo: done (shares ended, panel, relay and NATS stopped).');
  }
}
