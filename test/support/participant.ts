import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { isAlive } from '../../src/adapters/process.ts';
import { waitFor } from './waitFor.ts';

/**
 * A real ssh client joining a share, running inside a tmux server of its own so it has a PTY
 * whose screen the test can read and type into.
 */
export class Participant {
  private constructor(
    private readonly socket: string,
    readonly sshPid: number,
  ) {}

  /** `sshOptions`: extra `-o` options, e.g. `ServerAliveInterval=1` (an ssh that sends keepalives). */
  static async join(link: string, keyFile: string, opts: { sshOptions?: string[] } = {}): Promise<Participant> {
    const m = link.match(/^ssh\s+(\S+@\S+)(?:\s+-p\s+(\d+))?$/);
    if (!m) throw new Error(`not an ssh link: ${link}`);
    const socket = `guest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const ssh = ['exec', 'ssh', '-tt', '-i', keyFile, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...(opts.sshOptions ?? []).flatMap((o) => ['-o', o]), ...(m[2] ? ['-p', m[2]] : []), m[1]!].join(' ');
    await execa('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'g', '-x', '100', '-y', '30', ssh, ';', 'set-option', '-t', 'g', 'remain-on-exit', 'on']);
    const pid = Number((await execa('tmux', ['-L', socket, 'display', '-p', '-t', 'g', '#{pane_pid}'])).stdout.trim());
    return new Participant(socket, pid);
  }

  async screen(): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J', '-t', 'g'], { reject: false });
    return r.stdout;
  }

  waitForText(text: string, timeoutMs = 10_000): Promise<string> {
    return waitFor(`participant screen to show "${text}"`, async () => {
      const s = await this.screen();
      return s.includes(text) ? s : undefined;
    }, timeoutMs);
  }

  async type(text: string): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', '-t', 'g', '-l', text]);
    await execa('tmux', ['-L', this.socket, 'send-keys', '-t', 'g', 'Enter']);
  }

  /** Sends raw bytes as typed on the participant's keyboard (control bytes, escape sequences and all). */
  async typeBytes(bytes: Buffer): Promise<void> {
    for (let i = 0; i < bytes.length; i += 256) {
      const hex = [...bytes.subarray(i, i + 256)].map((b) => b.toString(16).padStart(2, '0'));
      await execa('tmux', ['-L', this.socket, 'send-keys', '-t', 'g', '-H', ...hex]);
    }
  }

  /** Detaches from the shared tmux session (prefix, then `d`), as a participant leaving by hand does. */
  async detach(): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', '-t', 'g', 'C-b', 'd']);
  }

  connected(): boolean {
    return isAlive(this.sshPid);
  }

  async close(): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'kill-server'], { reject: false });
  }
}

/** The guest key pair in `dir`, made once: a second call reuses it (ssh-keygen would stop to ask about overwriting). */
export async function guestKey(dir: string): Promise<string> {
  const file = `${dir}/guest_ed25519`;
  if (existsSync(file)) return file;
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdin: 'ignore' });
  return file;
}
