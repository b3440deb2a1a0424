import process from 'node:process';
import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { GuestKeys, MAX_SEND, forwardArgs } from './guestInput.js';
import { spawnPtyClient, startAnchor } from './ptyClient.js';

const run = promisify(execFile);

/**
 * A guest's view of one terminal: what upterm runs as a guest's forced command and what tmate hosts.
 *
 * Display: a tmux client attached `read-only,ignore-size` to the session, inside a pty of its own
 * (`script`). Nothing is ever written to that pty, so no byte a guest sends reaches a tmux client:
 * no key binding, prefix, command prompt or mouse menu can run, and the client never sizes the window.
 * Input (read-write only): the guest's raw bytes go to the session's active pane with
 * `send-keys -H` (guestInput.ts), checked against the lease marker in the same server command.
 * C-b d leaves the view (the guest's own connection, nobody else's).
 */
/** @typedef {{ tmux: string; socket?: string; session: string; access: 'read-only' | 'read-write' }} GuestViewOptions */

/**
 * @param {string[]} argv
 * @returns {GuestViewOptions | string}
 */
export function parseViewArgs(argv) {
  /** @param {string} name */
  const get = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const session = get('session');
  const access = get('access');
  if (!session) return 'termshare-view: --session NAME is required';
  if (access !== 'read-only' && access !== 'read-write') return 'termshare-view: --access read-only|read-write is required';
  const socket = get('socket');
  return { tmux: get('tmux') ?? 'tmux', session, access, ...(socket ? { socket } : {}) };
}

/**
 * @param {GuestViewOptions} o
 * @returns {Promise<number>}
 */
export async function runGuestView(o) {
  const stdin = process.stdin;
  const stdout = process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) {
    process.stderr.write('termshare-view: needs a terminal (ssh -t)\r\n');
    return 2;
  }
  const socketArgs = o.socket ? ['-L', o.socket] : [];
  /** @param {string[]} args */
  const tmux = (args) => run(o.tmux, [...socketArgs, ...args], { env: { ...process.env, TMUX: '' } }).then(() => true, () => false);
  const target = { tmux: o.tmux, socketArgs, session: o.session };
  // First the anchor (so the window keeps its size), then the guest's own client, which dies with
  // this process however it ends: a dropped guest leaves no client behind.
  const anchor = await startAnchor(target);
  const view = spawnPtyClient(target, { flags: 'read-only,ignore-size', rows: stdout.rows, cols: stdout.columns, output: 'inherit', env: process.env });

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
      for (let i = 0; i < all.length; i += MAX_SEND) await tmux(forwardArgs(o.session, all.subarray(i, i + MAX_SEND)));
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
    // Leaving waits for what was typed before it to have been handed to the server (or refused there).
    if (leave) void (sending ?? Promise.resolve()).then(() => view.kill('SIGTERM'));
  });
  stdin.on('end', () => view.kill('SIGTERM'));

  stdout.on('resize', () => void resizeView(o, socketArgs, view.pid, stdout.rows, stdout.columns));

  /** @type {number} */
  const code = await new Promise((resolve) => view.on('exit', (c) => resolve(c ?? 0)));
  anchor?.kill('SIGKILL');
  stdin.setRawMode(false);
  stdin.destroy();
  return code;
}

/** The view's pty follows the guest's terminal size (only the view: ignore-size keeps the window's). */
/**
 * @param {GuestViewOptions} o
 * @param {string[]} socketArgs
 * @param {number | undefined} scriptPid
 * @param {number} rows
 * @param {number} cols
 */
async function resizeView(o, socketArgs, scriptPid, rows, cols) {
  if (!scriptPid) return;
  const listed = await run(o.tmux, [...socketArgs, 'list-clients', '-F', '#{client_pid} #{client_tty}']).catch(() => ({ stdout: '' }));
  for (const line of listed.stdout.split('\n')) {
    const [pid, tty] = line.split(' ');
    if (!pid || !tty || (await parentOf(Number(pid))) !== scriptPid) continue;
    await run('stty', ['-F', tty, 'rows', String(rows), 'cols', String(cols)]).catch(() => undefined);
  }
}

/** @param {number} pid */
async function parentOf(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[1] ? Number(fields[1]) : undefined;
}
