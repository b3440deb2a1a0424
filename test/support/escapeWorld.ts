import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TmuxTerminals } from '../../src/adapters/terminals/tmux/tmux.ts';
import { waitFor } from './waitFor.ts';

/**
 * A tmux server as an attacker meets it: the shared terminal `work` (running `cat -v`, so what a
 * guest types shows and nothing it types runs), a second session `other` (a shell), the operator
 * attached to `work` with a plain client, and mouse support on. What changed is read back as a
 * snapshot; markers are files only a tmux command run on a guest's behalf would create.
 */
export type Snapshot = {
  serverUp: boolean;
  sessions: string[];
  /** session:index panes zoomed WxH */
  windows: string[];
  /** tty session flags, for every client */
  clients: { tty: string; session: string; flags: string }[];
  markers: string[];
  pwnedOption: string;
  hooks: string;
  operatorTty: string;
};

export class EscapeWorld {
  readonly tmux: TmuxTerminals;
  private readonly outer: TmuxTerminals;
  operatorTty = '';
  constructor(
    readonly socket: string,
    readonly dir: string,
  ) {
    this.tmux = new TmuxTerminals(socket);
    this.outer = new TmuxTerminals(`${socket}-operator`);
  }

  get markerDir(): string {
    return join(this.dir, 'markers');
  }

  marker(id: string): string {
    return join(this.markerDir, id);
  }

  async start(): Promise<void> {
    await mkdir(this.markerDir, { recursive: true });
    await writeFile(join(this.dir, 'evil.conf'), `run-shell "touch ${this.marker('P08')}"\n`);
    await this.tmux.create('work', { command: 'cat -v', width: 100, height: 30 });
    await this.tmux.create('other', { command: 'bash --norc --noprofile', width: 100, height: 30 });
    await this.tmux.run(['set-option', '-g', 'mouse', 'on']);
    // Keys arriving in one burst count as a paste, which skips key bindings: an attacker typing one key
    // at a time is not a paste. With this off, a burst is taken key by key, as slow typing would be.
    await this.tmux.run(['set-option', '-g', 'assume-paste-time', '0']);
    await this.outer.create('op', { command: `env -u TMUX tmux -L ${this.socket} attach -t =work`, width: 100, height: 30 });
    this.operatorTty = await waitFor('the operator to attach', async () => (await this.clients()).find((c) => c.session === 'work')?.tty);
  }

  async clients(): Promise<Snapshot['clients']> {
    const r = await this.tmux.run(['list-clients', '-F', '#{client_tty} #{client_session} #{client_flags}']);
    return r.stdout.split('\n').filter(Boolean).map((l) => {
      const [tty = '', session = '', flags = ''] = l.split(' ');
      return { tty, session, flags };
    });
  }

  async pane(session: string): Promise<string> {
    return (await this.tmux.run(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', `=${session}:`])).stdout;
  }

  async snapshot(): Promise<Snapshot> {
    const up = (await this.tmux.run(['list-sessions', '-F', '#{session_name}'])).exitCode === 0;
    const list = async (args: string[]) => (await this.tmux.run(args)).stdout.split('\n').filter(Boolean).sort();
    return {
      serverUp: up,
      sessions: await list(['list-sessions', '-F', '#{session_name}']),
      windows: await list(['list-windows', '-a', '-F', '#{session_name}:#{window_index} #{window_panes} #{window_zoomed_flag} #{window_width}x#{window_height}']),
      clients: await this.clients(),
      markers: existsSync(this.markerDir) ? (await readdir(this.markerDir)).sort() : [],
      pwnedOption: (await this.tmux.run(['show-options', '-gqv', '@pwned'])).stdout.trim(),
      hooks: (await this.tmux.run(['show-hooks', '-g'])).stdout,
      operatorTty: this.operatorTty,
    };
  }

  async stop(): Promise<void> {
    for (const server of [this.outer, this.tmux]) {
      const path = (await server.run(['display-message', '-p', '#{socket_path}'])).stdout.trim();
      await server.run(['kill-server']);
      if (path) await rm(path, { force: true });
    }
  }
}
