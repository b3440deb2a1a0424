#!/usr/bin/env node
// A guest's confined view of one zellij session (src/adapters/terminals/zellij/zellijView.js): what
// upterm forces on every guest and what tmate hosts. Run by the backends, not by hand.
import process from 'node:process';
import { parseZellijViewArgs, runZellijView } from '../src/adapters/terminals/zellij/zellijView.js';

const opts = parseZellijViewArgs(process.argv.slice(2));
if (typeof opts === 'string') {
  process.stderr.write(`${opts}\n`);
  process.exit(2);
}
process.exit(await runZellijView(opts));
