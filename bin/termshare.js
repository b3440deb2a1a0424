#!/usr/bin/env node
// Runs the compiled CLI (dist/, `npm run build`; set-up builds it) when it is newer than every
// source file; otherwise the TypeScript sources through tsx, so an edit is never run stale.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { newestSource, STAMP } from './freshness.js';

const root = join(import.meta.dirname, '..');
let fresh = false;
try {
  fresh = process.env.TERMSHARE_FROM_SOURCE !== '1' && statSync(join(root, STAMP)).mtimeMs > newestSource(join(root, 'src'));
} catch {
  // no dist/ (or no src/): run the sources
}
if (fresh) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
