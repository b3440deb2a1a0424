// Plain JavaScript (type-checked through JSDoc): the guest view runs it with node alone, no loader,
// so a guest's view is up as fast as a tmux attach would be.
import { Buffer } from 'node:buffer';

/**
 * What a guest types, on its way to the one pane it may write to (see guestView.ts).
 *
 * The guest's bytes never reach a tmux client: they are handed to the server as hex with
 * `send-keys -H`, which writes them to the pane as literal bytes (no key binding, no prefix, no
 * command prompt). The send runs inside `if-shell -F` so that, in the server's own command queue,
 * nothing is sent while the terminal is leased to an agent (`@termshare_lease` set on the session)
 * or while the pane is in a mode (copy mode, choose-tree: keys sent there run that mode's bindings).
 */

/** The session user option set while a handoff lease holds the terminal's input. */
export const LEASE_OPTION = '@termshare_lease';

/** The byte after the prefix byte (C-b) that ends the guest's own view: leaving, never anyone else. */
const PREFIX = 0x02;
const LEAVE = 'd'.charCodeAt(0);

/** Replies a terminal sends unasked-for-by-the-guest (to the view's queries) and mouse reports: not typing. */
const NOT_TYPED = [
  /\x1b\[[?>][\d;]*c/g, // device attributes replies
  /\x1bP[\s\S]*?\x1b\\/g, // DCS replies (XTVERSION, DECRQSS)
  /\x1b\][\s\S]*?(?:\x07|\x1b\\)/g, // OSC replies (colours, clipboard)
  /\x1b\[<[\d;]*[mM]/g, // SGR mouse reports
  /\x1b\[M[\s\S]{3}/g, // X10 mouse reports
  /\x1b\[[IO]/g, // focus in/out
];

/**
 * @param {Buffer} bytes
 * @returns {Buffer}
 */
export function dropTerminalReplies(bytes) {
  let text = bytes.toString('latin1');
  for (const re of NOT_TYPED) text = text.replace(re, '');
  return Buffer.from(text, 'latin1');
}

/** Splits the guest's input into what goes to the pane and whether the guest asked to leave (C-b d). */
export class GuestKeys {
  pendingPrefix = false;

  /**
   * @param {Buffer} chunk
   * @returns {{ bytes: Buffer; leave: boolean }}
   */
  take(chunk) {
    /** @type {number[]} */
    const out = [];
    for (const b of dropTerminalReplies(chunk)) {
      if (this.pendingPrefix) {
        this.pendingPrefix = false;
        if (b === LEAVE) return { bytes: Buffer.from(out), leave: true };
        out.push(PREFIX, b);
      } else if (b === PREFIX) this.pendingPrefix = true;
      else out.push(b);
    }
    return { bytes: Buffer.from(out), leave: false };
  }
}

/** Bytes per `send-keys -H`: a paste goes in several bounded commands, in order. */
export const MAX_SEND = 512;

/**
 * One tmux invocation (after the socket args) that writes `bytes` to the session's active pane,
 * unless it is leased or in a mode. `session` is a tmux session name as TerminalRef allows
 * (letters, digits, `_.@%+=,-`), so single quotes hold it inside the command string.
 */
/**
 * @param {string} session
 * @param {Buffer} bytes
 * @returns {string[]}
 */
export function forwardArgs(session, bytes) {
  if (!/^[A-Za-z0-9_.@%+=,$-]+$/.test(session)) throw new Error(`not a session name a guest view may target: ${session}`);
  if (bytes.length === 0 || bytes.length > MAX_SEND) throw new Error(`forwardArgs takes 1..${MAX_SEND} bytes`);
  const target = `=${session}:`;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return ['if-shell', '-F', '-t', target, `#{?#{||:#{${LEASE_OPTION}},#{pane_in_mode}},,1}`, `send-keys -H -t '${target}' ${hex}`];
}
