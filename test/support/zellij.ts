import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ZellijTerminals } from '../../src/adapters/terminals/zellij/zellij.ts';
import { locateZellij } from '../../src/adapters/terminals/zellij/locate.ts';

/**
 * A zellij of its own for one test file: its own socket dir (short: socket paths must fit in 108
 * bytes), config dir, cache and data dirs, so no user's session is seen or touched. A plain
 * one-pane layout without plugins (their first load compiles WebAssembly: seconds per session).
 */
export type ZellijWorld = {
  terminals: ZellijTerminals;
  env: Record<string, string>;
  root: string;
  /** A background session running bash (no rc files) in `cwd`, with `env` added. */
  create(session: string, opts?: { cwd?: string; env?: Record<string, string>; command?: string[] }): Promise<void>;
  cleanup(): Promise<void>;
};

export async function zellijWorld(): Promise<ZellijWorld> {
  const bin = locateZellij();
  if (!bin) throw new Error('zellij not found');
  const root = await mkdtemp('/tmp/tz-');
  const env = {
    ZELLIJ_SOCKET_DIR: join(root, 's'),
    ZELLIJ_CONFIG_DIR: join(root, 'config'),
    XDG_CACHE_HOME: join(root, 'cache'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CONFIG_HOME: join(root, 'xdg-config'),
    SHELL: '/bin/bash',
  };
  await mkdir(join(env.ZELLIJ_CONFIG_DIR, 'layouts'), { recursive: true });
  await mkdir(env.ZELLIJ_SOCKET_DIR, { recursive: true, mode: 0o700 });
  await writeFile(join(env.ZELLIJ_CONFIG_DIR, 'layouts', 'plain.kdl'), 'layout {\n    pane\n}\n');
  await writeFile(join(env.ZELLIJ_CONFIG_DIR, 'config.kdl'), [
    'default_layout "plain"',
    'default_shell "bash"',
    'show_startup_tips false',
    'show_release_notes false',
    'session_serialization false',
    'pane_frames true',
    'mouse_mode false',
    'copy_on_select false',
    'load_plugins {\n}',
    '',
  ].join('\n'));
  const terminals = new ZellijTerminals({ bin, env, runDir: join(root, 'run') });
  return {
    terminals,
    env,
    root,
    async create(session, opts = {}) {
      const r = await terminals.create(session, {
        command: opts.command ?? ['bash', '--norc', '--noprofile'],
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        env: { PS1: '$ ', ...opts.env },
      });
      if (r.exitCode !== 0) throw new Error(`zellij attach -b ${session}: ${r.stderr || r.stdout}`);
    },
    async cleanup() {
      await terminals.run(['kill-all-sessions', '--yes']);
      // Whatever is still up (a test ended mid-way): the processes this world started, by pid,
      // known by this world's socket dir in their environment.
      for (const pid of await pidsWithEnv(`ZELLIJ_SOCKET_DIR=${env.ZELLIJ_SOCKET_DIR}`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function pidsWithEnv(entry: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').includes(entry)) found.push(Number(pid));
  }
  return found;
}

/** Sets these variables in this process (the in-process service reads them); the function puts the old values back. */
export function withEnv(vars: Record<string, string>): () => void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
