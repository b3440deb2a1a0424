// Plain JavaScript (type-checked through JSDoc), run by the guest view with node alone.
import process from 'node:process';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A shell word for `script -c` (plain JS twin of process.ts's shellJoin). @param {string[]} argv */
export const shellJoin = (argv) => argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');

/** @typedef {{ tmux: string; socketArgs: string[]; session: string }} Target */

/**
 * A tmux client attached to `=session` inside a pty of its own (util-linux `script`) of the given
 * size. Its stdin is a pipe nobody writes to: no key ever reaches this client. script (and with its
 * pty, the client) dies with this process however it ends (parent-death signal).
 * @param {Target} t
 * @param {{ flags: string; rows: number; cols: number; output: 'inherit' | 'ignore'; env: NodeJS.ProcessEnv }} c
 */
export function spawnPtyClient(t, c) {
  const attach = shellJoin([t.tmux, ...t.socketArgs, 'attach-session', '-f', c.flags, '-t', `=${t.session}`]);
  const size = `stty rows ${c.rows} cols ${c.cols} 2>/dev/null`;
  return spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'script', '-qfec', `${size}; exec ${attach}`, '/dev/null'], {
    stdio: ['pipe', c.output, c.output],
    env: { ...c.env, TMUX: undefined },
  });
}

/**
 * tmux ignores ignore-size clients only while some client without that flag is attached; with
 * none, the guests' own terminals would size the window for everyone. The anchor is that client:
 * read-only, sized as the window is when the guest arrives, never typed into, and tagged so it is
 * not counted as a participant.
 * @param {Target} t
 */
export async function startAnchor(t) {
  const shown = await run(t.tmux, [...t.socketArgs, 'display-message', '-p', '-t', `=${t.session}:`, '#{window_width} #{window_height} #{status}'], {
    env: { ...process.env, TMUX: '' },
  }).catch(() => ({ stdout: '' }));
  const [cols, rows, status] = shown.stdout.trim().split(' ');
  if (!cols || !rows) return undefined;
  const statusLines = status === 'off' ? 0 : /^\d$/.test(status ?? '') ? Number(status) : 1;
  return spawnPtyClient(t, { flags: 'read-only', rows: Number(rows) + statusLines, cols: Number(cols), output: 'ignore', env: { ...process.env, TERMSHARE_ROLE: 'anchor' } });
}
