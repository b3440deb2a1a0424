#!/usr/bin/env node
// The pane zellij shows in place of a terminal's pane while an agent holds its lease
// (src/adapters/terminals/zellij/humanClients.ts): it mirrors the leased pane's screen and drops
// every key typed into it. Run by zellij (`run --in-place`), inside the session: its own
// ZELLIJ_SESSION_NAME names the session, so `zellij action` reaches it.
import process from 'node:process';
import { execFile } from 'node:child_process';
import { setInterval } from 'node:timers';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const zellij = arg('zellij') ?? 'zellij';
const pane = arg('pane');
if (!pane || !/^\d+$/.test(pane)) {
  process.stderr.write('termshare-zellij-cover: --pane N is required\n');
  process.exit(2);
}

const banner = " termshare: an agent holds this terminal's input; what you type here goes nowhere until it is handed back ";
if (process.stdin.isTTY) process.stdin.setRawMode(true);
process.stdin.on('data', () => undefined);

let last = '';
const draw = () =>
  execFile(zellij, ['action', 'dump-screen', '--pane-id', `terminal_${pane}`], { timeout: 5000 }, (e, stdout) => {
    if (e) return;
    const rows = process.stdout.rows ?? 24;
    const cols = process.stdout.columns ?? 80;
    const lines = stdout.split('\n').slice(0, Math.max(0, rows - 1)).map((l) => l.slice(0, cols));
    const frame = `\x1b[7m${banner.slice(0, cols)}\x1b[0m\x1b[K\r\n${lines.join('\x1b[K\r\n')}\x1b[K\x1b[J`;
    if (frame === last) return;
    last = frame;
    process.stdout.write(`\x1b[?25l\x1b[H${frame}`);
  });
draw();
setInterval(draw, 300);
process.stdout.on('resize', () => {
  last = '';
  draw();
});
