import { execa } from 'execa';
import { waitFor } from './waitFor.ts';

/** The operator at the keyboard: a real tmux client of the terminal, itself inside an outer tmux so the test can type and read. */
export class HumanClient {
  private constructor(private readonly outer: string) {}

  static async attach(socket: string, session: string): Promise<HumanClient> {
    return HumanClient.running(`env -u TMUX tmux -L ${socket} attach-session -t =${session}`);
  }

  /** The operator's client is whatever `command` runs (e.g. `zellij attach <session>`), in the outer tmux's pane. */
  static async running(command: string): Promise<HumanClient> {
    const outer = `human-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    await execa('tmux', ['-L', outer, '-f', '/dev/null', 'new-session', '-d', '-s', 'h', '-x', '110', '-y', '35', command]);
    return new HumanClient(outer);
  }

  async type(line: string): Promise<void> {
    await execa('tmux', ['-L', this.outer, 'send-keys', '-t', 'h', '-l', line]);
    await execa('tmux', ['-L', this.outer, 'send-keys', '-t', 'h', 'Enter']);
  }

  async screen(): Promise<string> {
    return (await execa('tmux', ['-L', this.outer, 'capture-pane', '-p', '-t', 'h'], { reject: false })).stdout;
  }

  waitForText(text: string): Promise<string> {
    return waitFor(`the operator's screen to show "${text}"`, async () => ((await this.screen()).includes(text) ? this.screen() : undefined));
  }

  /** The pid of the tmux client the operator attached (`env` execs it in the outer pane). */
  async clientPid(): Promise<number> {
    return Number((await execa('tmux', ['-L', this.outer, 'display-message', '-p', '-t', 'h', '#{pane_pid}'])).stdout.trim());
  }

  async close(): Promise<void> {
    await execa('tmux', ['-L', this.outer, 'kill-server'], { reject: false });
  }
}
