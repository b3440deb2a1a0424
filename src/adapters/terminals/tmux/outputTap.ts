import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';

export type TapEvent =
  | { kind: 'output'; data: string; at: number }
  | { kind: 'resize'; cols: number; rows: number; at: number }
  | { kind: 'closed'; at: number };

type Pane = { id: string; cols: number; rows: number };

const ATTACH_TIMEOUT_MS = 5000;

/** `\ooo` escapes of tmux control mode (bytes below 32 and the backslash) back to bytes. */
export function unescapeOutput(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && /^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * What a tmux session's active pane shows, as it happens, through a control-mode client
 * (`tmux -C attach -r -f ignore-size`): `%output` carries the pane's bytes as the program wrote
 * them, so timing is kept; the client is read-only and ignores size, so it never types into nor
 * resizes the terminal, and carries no share tag, so it is nobody's participant. It starts with the
 * screen as it is (capture-pane with attributes); a pane or window change shows the new pane's screen;
 * a size change is a resize event.
 */
export class TmuxOutputTap {
  private pane: Pane | undefined;
  private decoder = new StringDecoder('utf8');
  private closed = false;

  private constructor(
    private readonly tmux: (args: string[]) => Promise<{ stdout: string; exitCode?: number | undefined }>,
    private readonly session: string,
    private readonly onEvent: (e: TapEvent) => void,
    private child?: ChildProcess,
  ) {}

  static async open(opts: { bin?: string; socket?: string; session: string; onEvent: (e: TapEvent) => void }): Promise<TmuxOutputTap | undefined> {
    const bin = opts.bin ?? 'tmux';
    const socketArgs = opts.socket ? ['-L', opts.socket] : [];
    const tmux = (args: string[]) => execa(bin, [...socketArgs, ...args], { reject: false, env: { TMUX: undefined }, extendEnv: true });
    const tap = new TmuxOutputTap(tmux, opts.session, opts.onEvent);
    const pane = await tap.activePane();
    if (!pane) return undefined;
    tap.pane = pane;
    // The client first, the screen after: output between the two shows twice rather than not at all.
    // Until the screen is taken, %output lines wait.
    const held: string[] = [];
    let holding = true;
    const child = spawn(bin, [...socketArgs, '-C', 'attach-session', '-r', '-f', 'ignore-size', '-t', `=${opts.session}`], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, TMUX: undefined },
    });
    tap.child = child;
    child.stdout!.setEncoding('latin1');
    const attached = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ATTACH_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // The attach's own reply block ends with %end (or %error): from then on the client gets the pane's output.
        if (holding && /^%(end|error) /.test(line)) {
          clearTimeout(timer);
          resolve(true);
        }
        if (holding) held.push(line);
        else tap.onLine(line);
      });
      child.on('exit', () => resolve(false));
    });
    child.on('exit', () => tap.finish());
    child.on('error', () => tap.finish());
    if (!(await attached)) {
      tap.close();
      return undefined;
    }
    await tap.showScreen(pane);
    holding = false;
    for (const line of held) tap.onLine(line);
    return tap;
  }

  /** The control-mode client's pid (its CPU is part of a recording's cost). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The cols and rows of the pane being recorded. */
  get size(): { cols: number; rows: number } | undefined {
    return this.pane ? { cols: this.pane.cols, rows: this.pane.rows } : undefined;
  }

  close(): void {
    if (!this.child) return this.finish();
    // Control mode ends at its input's end; the kill is for a tmux that does not.
    this.child.stdin?.end();
    const c = this.child;
    setTimeout(() => c.exitCode === null && c.kill('SIGTERM'), 1000).unref();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onEvent({ kind: 'closed', at: Date.now() });
  }

  private async activePane(): Promise<Pane | undefined> {
    const r = await this.tmux(['display-message', '-p', '-t', `=${this.session}:`, '#{pane_id} #{pane_width} #{pane_height}']);
    const [id, cols, rows] = r.stdout.trim().split(' ');
    if (r.exitCode !== 0 || !id?.startsWith('%')) return undefined;
    return { id, cols: Number(cols), rows: Number(rows) };
  }

  private async showScreen(pane: Pane): Promise<void> {
    const at = Date.now();
    const r = await this.tmux(['capture-pane', '-p', '-e', '-t', pane.id]);
    const lines = r.stdout.split('\n');
    if (lines.at(-1) === '') lines.pop();
    this.onEvent({ kind: 'output', data: `\x1b[H\x1b[2J${lines.join('\r\n')}`, at });
  }

  private onLine(line: string): void {
    if (this.closed) return;
    const at = Date.now();
    if (line.startsWith('%output ')) {
      const space = line.indexOf(' ', 8);
      if (line.slice(8, space) !== this.pane?.id) return;
      const data = this.decoder.write(unescapeOutput(line.slice(space + 1)));
      if (data) this.onEvent({ kind: 'output', data, at });
    } else if (/^%(layout-change|window-pane-changed|session-window-changed|session-changed) /.test(line)) {
      void this.follow();
    } else if (line.startsWith('%exit')) {
      this.finish();
    }
  }

  /** The active pane or its size may have changed: show the new pane, or tell the new size. */
  private async follow(): Promise<void> {
    const now = await this.activePane();
    if (!now || this.closed) return;
    const was = this.pane;
    this.pane = now;
    if (was?.id !== now.id) {
      this.decoder = new StringDecoder('utf8');
      this.onEvent({ kind: 'resize', cols: now.cols, rows: now.rows, at: Date.now() });
      await this.showScreen(now);
    } else if (was.cols !== now.cols || was.rows !== now.rows) {
      this.onEvent({ kind: 'resize', cols: now.cols, rows: now.rows, at: Date.now() });
    }
  }
}
