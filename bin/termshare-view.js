#!/usr/bin/env node
// A guest's confined view of one terminal (src/adapters/terminals/tmux/guestView.ts): what upterm
// forces on every guest and what tmate hosts. Run by the backends, not by hand.
import { register } from 'tsx/esm/api';
register();
const { parseViewArgs, runGuestView } = await import('../src/adapters/terminals/tmux/guestView.ts');
const opts = parseViewArgs(process.argv.slice(2));
if (typeof opts === 'string') {
  process.stderr.write(`${opts}\n`);
  process.exit(2);
}
process.exit(await runGuestView(opts));
