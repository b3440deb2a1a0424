// Plain JavaScript (type-checked through JSDoc), run by node alone like the tmux guest view.
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { GuestKeys } from '../tmux/guestInput.js';
import { shellJoin } from '../tmux/ptyClient.js';

const run = promisify(execFile);

/**
 * A guest's view of one zellij session (0.45.1): what upterm forces on every guest and what tmate hosts.
 *
 * Display: `zellij watch <session>`, zellij's own read-only client (the server drops every input
 * message of a watcher and never sizes the session by it), inside a pty of its own (`script`)
 * whose input is a pipe nobody writes to: no byte from the guest reaches a zellij client at all.
 * Input (read-write only): the guest's bytes go to the session's focused pane with
 * `zellij --session S action write`, never while the lease file exists (an agent holds the lease).
 * C-b d leaves the view. A notice (the expiry warning) arrives as a file named after this process
 * and SIGUSR2, and is painted on the view's bottom row.
 */
/** @typedef {{ zellij: string; session: string; access: 'read-only' | 'read-write'; lease: string; notices: string }} ZellijViewOptions */

/** Bytes per `action write`: a paste goes in several bounded writes, in order. */
export const MAX_WRITE = 512;

/**
 * @param {string[]} argv
 * @returns {ZellijViewOptions | string}
 */
export function parseZellijViewArgs(argv) {
  /** @param {string} name */
  const get = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const session = get('session');
  const access = get('access');
  const lease = get('lease');
  const notices = get('notices');
  if (!session) return 'termshare-zellij-view: --session NAME is required';
  if (access !== 'read-only' && access !== 'read-write') return 'termshare-zellij-view: --access read-only|read-write is required';
  if (!lease || !notices) return 'termshare-zellij-view: --lease FILE and --notices DIR are required';
  return { zellij: get('zellij') ?? 'zellij', session, access, lease, notices };
}

/**
 * The argv of one `action write` of these bytes to a pane, named by id: zellij's write without one
 * goes to the focus of the last client that typed, and to nowhere in a session nobody typed into.
 * @param {string} session @param {number} pane @param {Buffer} bytes
 */
export function writeArgs(session, pane, bytes) {
  if (bytes.length === 0 || bytes.length > MAX_WRITE) throw new Error(`writeArgs takes 1..${MAX_WRITE} bytes`);
  return ['--session', session, 'action', 'write', '--pane-id', `terminal_${pane}`, '--', ...[...bytes].map(String)];
}

/**
 * The pane a guest sees typing go to: the focused terminal pane of the active tab (the first one
 * when no client has focused any), as the adapter's panes.ts picks it.
 * @param {string} listPanesJson `list-panes --json --all` @param {string} listTabsJson `list-tabs --json --state`
 * @returns {number | undefined}
 */
export function focusedPane(listPanesJson, listTabsJson) {
  try {
    /** @type {{ id: number; is_plugin: boolean; is_focused: boolean; is_floating: boolean; is_suppressed: boolean; tab_position: number }[]} */
    const panes = JSON.parse(listPanesJson);
    /** @type {{ position: number; active: boolean }[]} */
    const tabs = JSON.parse(listTabsJson);
    const tab = tabs.find((t) => t.active)?.position ?? 0;
    const here = panes.filter((p) => !p.is_plugin && !p.is_suppressed && p.tab_position === tab);
    return (here.find((p) => p.is_focused && !p.is_floating) ?? here.find((p) => p.is_focused) ?? here[0])?.id;
  } catch {
    return undefined;
  }
}

/** Nothing of a zellij session we are inside of leaks into the commands (they would target it). */
const zellijEnv = () => ({ ...process.env, ZELLIJ: undefined, ZELLIJ_SESSION_NAME: undefined, ZELLIJ_PANE_ID: undefined });

/** @param {ZellijViewOptions} o */
async function paneNow(o) {
  const ask = (/** @type {string[]} */ args) => run(o.zellij, ['--session', o.session, 'action', ...args], { env: zellijEnv() }).then((r) => r.stdout, () => '');
  const [panes, tabs] = await Promise.all([ask(['list-panes', '--json', '--all']), ask(['list-tabs', '--json', '--state'])]);
  return focusedPane(panes, tabs);
}

/** @param {ZellijViewOptions} o */
async function sessionIsLive(o) {
  const r = await run(o.zellij, ['list-sessions', '--no-formatting'], { env: zellijEnv() }).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').some((l) => l.startsWith(`${o.session} [Created `) && !l.includes('(EXITED'));
}

/**
 * @param {ZellijViewOptions} o
 * @returns {Promise<number>}
 */
export async function runZellijView(o) {
  const stdin = process.stdin;
  const stdout = process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) {
    process.stderr.write('termshare-zellij-view: needs a terminal (ssh -t)\r\n');
    return 2;
  }
  // `zellij watch` completes a unique prefix: never let it reach another session than the one named.
  if (!(await sessionIsLive(o))) {
    process.stderr.write(`termshare-zellij-view: zellij session ${o.session} is not running\r\n`);
    return 1;
  }
  const watch = shellJoin([o.zellij, 'watch', o.session]);
  const size = `stty rows ${stdout.rows} cols ${stdout.columns} 2>/dev/null`;
  const view = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'script', '-qfec', `${size}; exec ${watch}`, '/dev/null'], {
    stdio: ['pipe', 'inherit', 'inherit'],
    // Tagged so the adapter counts this view once, not its watch client too.
    env: { ...zellijEnv(), TERMSHARE_ROLE: 'view' },
  });

  stdin.setRawMode(true);
  const keys = new GuestKeys();
  /** @type {Buffer[]} */
  let queue = [];
  /** @type {Promise<void> | undefined} */
  let sending;
  const pump = async () => {
    while (queue.length > 0) {
      const all = Buffer.concat(queue);
      queue = [];
      // Checked before each write: while an agent holds the lease, nothing typed is written, not even later.
      if (existsSync(o.lease)) continue;
      const pane = await paneNow(o);
      if (pane === undefined) continue;
      for (let i = 0; i < all.length; i += MAX_WRITE) {
        await run(o.zellij, writeArgs(o.session, pane, all.subarray(i, i + MAX_WRITE)), { env: zellijEnv() }).catch(() => undefined);
      }
    }
    sending = undefined;
  };
  let leaving = false;
  stdin.on('data', (/** @type {Buffer} */ chunk) => {
    if (leaving) return;
    const { bytes, leave } = keys.take(chunk);
    leaving = leave;
    if (o.access === 'read-write' && bytes.length > 0) {
      queue.push(bytes);
      sending ??= pump();
    }
    if (leave) void (sending ?? Promise.resolve()).then(() => view.kill('SIGTERM'));
  });
  stdin.on('end', () => view.kill('SIGTERM'));
  stdout.on('resize', () => void resizeView(view.pid, stdout.rows, stdout.columns));
  process.on('SIGTERM', () => view.kill('SIGTERM'));
  process.on('SIGUSR2', () => showNotice(o, stdout));

  /** @type {number} */
  const code = await new Promise((resolve) => view.on('exit', (c) => resolve(c ?? 0)));
  stdin.setRawMode(false);
  stdin.destroy();
  return code;
}

/**
 * The notice file for this view (written by the adapter's notify), painted in reverse video on the
 * bottom row for 15 s; repainted each second since zellij redraws the rows that change.
 * @param {ZellijViewOptions} o
 * @param {NodeJS.WriteStream} stdout
 */
function showNotice(o, stdout) {
  const file = `${o.notices}/${process.pid}`;
  let text;
  try {
    text = readFileSync(file, 'utf8').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, Math.max(0, stdout.columns - 2));
    rmSync(file, { force: true });
  } catch {
    return;
  }
  const paint = () => stdout.write(`\x1b7\x1b[${stdout.rows};1H\x1b[7m ${text} \x1b[0m\x1b8`);
  paint();
  const timer = setInterval(paint, 1000);
  setTimeout(() => clearInterval(timer), 15_000).unref();
  timer.unref();
}

/** The watch client's pty follows the guest's terminal size. @param {number | undefined} scriptPid @param {number} rows @param {number} cols */
async function resizeView(scriptPid, rows, cols) {
  if (!scriptPid) return;
  const children = (await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').catch(() => '')).trim().split(' ').filter(Boolean);
  for (const child of children) {
    const tty = await readlink(`/proc/${child}/fd/0`).catch(() => '');
    if (tty.startsWith('/dev/pts/')) await run('stty', ['-F', tty, 'rows', String(rows), 'cols', String(cols)]).catch(() => undefined);
  }
}
