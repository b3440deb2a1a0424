import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startLoopbackUptermd } from '../adapters/backends/upterm/relayProcess.ts';
import { freePort } from '../adapters/ports.ts';
import { loadConfig, defaultToolsBin } from '../config.ts';
import { createLogger } from '../log.ts';
import { startService } from '../service/service.ts';

const root = join(import.meta.dirname, '..', '..');

/**
 * The newcomer's tour: a loopback upterm relay, `serve` on its embedded NATS, a demo tmux
 * terminal shared through the CLI, its link and status printed. Ctrl-C ends it all.
 */
export async function runDemo(opts: { once: boolean }): Promise<void> {
  const dir = join(process.env.TERMSHARE_DEMO_DIR ?? join(tmpdir(), `termshare-demo-${userInfo().username}`));
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

  const port = await freePort();
  // The demo's relay has a key of our making, so the service pins exactly that key (no trust on first use).
  const relay = await startLoopbackUptermd(join(defaultToolsBin(), 'uptermd'), port, stateDir);
  relay.child.stderr!.resume();
  console.log(`demo: loopback upterm relay on ssh://127.0.0.1:${port}`);

  const socket = 'termshare-demo';
  await execa('tmux', ['-L', socket, 'kill-session', '-t', '=demo'], { reject: false });
  await execa('tmux', ['-L', socket, 'new-session', '-d', '-s', 'demo', '-x', '120', '-y', '30', '-c', dir,
    `bash --norc -c 'echo "This is the demo terminal (tmux -L ${socket} attach -t demo)."; exec bash --norc'`]);
  console.log(`demo: terminal tmux:demo (attach yourself with: tmux -L ${socket} attach -t demo)`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TERMSHARE_STATE_DIR: stateDir,
    TERMSHARE_POLICY: join(dir, 'policy.cedar'),
    TERMSHARE_ENTITIES: join(dir, 'entities.json'),
    TERMSHARE_UPTERM_SERVER: relay.server,
    TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
    TERMSHARE_TMUX_SOCKET: socket,
    TERMSHARE_LOG_LEVEL: process.env.TERMSHARE_LOG_LEVEL ?? 'warn',
  };
  delete env.TERMSHARE_NATS_URL; // the demo is about the embedded default
  const config = loadConfig(env);
  const svc = await startService(config, createLogger(config.logLevel));
  console.log(`termshare ready nats=${svc.natsUrl}`);

  const cli = (...args: string[]) => execa('node', [join(root, 'bin', 'termshare.js'), ...args], { env: { ...env, TERMSHARE_NATS_URL: svc.natsUrl }, stdout: 'inherit', stderr: 'inherit', reject: false });
  console.log('\n$ termshare share tmux:demo --ttl 600');
  await cli('share', 'tmux:demo', '--ttl', '600', '--reason', 'demo');
  console.log('\n$ termshare status');
  await cli('status');

  const finish = async () => {
    await svc.stop();
    await relay.stop();
    await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
  };
  if (opts.once || !process.stdin.isTTY) {
    await finish();
    console.log('\ndemo: done (shares ended, relay and NATS stopped).');
    return;
  }
  console.log('\ndemo: join with the ssh line above from another terminal; Ctrl-C ends the share and the demo.');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await finish();
}
