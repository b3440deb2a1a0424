#!/usr/bin/env node
// A guest's confined view of one terminal (src/adapters/terminals/tmux/guestView.js): what upterm
// forces on every guest and what tmate hosts. Run by the backends, not by hand. Plain node, no
// loader: the view is up about as fast as a bare `tmux attach`.
import process from 'node:process';
import { parseViewArgs, runGuestView } from '../src/adapters/terminals/tmux/guestView.js';

const opts = parseViewArgs(process.argv.slice(2));
if (typeof opts === 'string') {
  process.stderr.write(`${opts}\n`);
  process.exit(2);
}
process.exit(await runGuestView(opts));
