import type { Share } from '../api/schemas.ts';
import { formatTable, isLive } from './format.ts';

/** How a status watch shows the shares each time they change. */
export interface WatchView {
  /** On a terminal, also redrawn each second so time left counts down (from what is at hand: no request). */
  readonly ticks: boolean;
  /** Every share the service lists, live and ended: the view picks what it shows. */
  show(shares: Share[], now: number): void;
  end(): void;
}

const ESC = '\x1b[';

/** The frame drawn in place: a title line and the table, each line cut to the terminal's width. */
export function renderFrame(shares: Share[], now: number, columns = 120): string[] {
  const title = `termshare status --watch  ${new Date(now).toISOString().slice(11, 19)}  (Ctrl-C to stop)`;
  const lines = [title, ...formatTable(shares, { now, empty: 'no live shares' }).split('\n')];
  return lines.map((l) => (l.length > columns ? l.slice(0, Math.max(1, columns - 1)) + '…' : l));
}

/** The bytes that replace the previous frame (`previous` lines tall) with `lines`: up to its first line, erase down, draw. */
export function redraw(previous: number, lines: string[]): string {
  return `${previous > 0 ? `${ESC}${previous}F` : ''}${ESC}J${lines.join('\n')}\n`;
}

export class ScreenView implements WatchView {
  readonly ticks = true;
  private drawn = 0;
  constructor(private readonly all: boolean, private readonly out: NodeJS.WriteStream = process.stdout) {
    out.write(`${ESC}?25l`);
  }
  show(shares: Share[], now: number): void {
    const lines = renderFrame(this.all ? shares : shares.filter(isLive), now, this.out.columns || 120);
    this.out.write(redraw(this.drawn, lines));
    this.drawn = lines.length;
  }
  end(): void {
    this.out.write(`${ESC}?25h`);
  }
}

const signature = (s: Share) => [s.state, s.expiresAt ?? '', s.participants, s.backend, s.access].join('|');

/**
 * Not a terminal: one line per share that appeared or changed (a JSON line each with --json),
 * including the end of a share seen live; ended shares never seen live only with `all`.
 */
export class LineView implements WatchView {
  readonly ticks = false;
  private seen = new Map<string, string>();
  constructor(
    private readonly opts: { json?: boolean; all?: boolean },
    private readonly write: (line: string) => void = (l) => void process.stdout.write(l + '\n'),
  ) {}
  show(shares: Share[], now: number): void {
    const at = new Date(now).toISOString();
    for (const s of shares) {
      const sig = signature(s);
      if (this.seen.get(s.id) === sig) continue;
      if (!this.opts.all && !isLive(s) && !this.seen.has(s.id)) continue;
      this.seen.set(s.id, sig);
      this.write(this.opts.json ? JSON.stringify({ at, share: s }) : `${at}  ${s.id}  ${s.terminal}  ${s.state}  ${s.backend}  ${s.access}  ${isLive(s) ? `expires ${s.expiresAt ?? '-'}` : 'ended'}  participants ${s.participants}`);
    }
  }
  end(): void {}
}
