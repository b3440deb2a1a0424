#!/usr/bin/env node
// Compiles src/ to dist/ (tsconfig.build.json) and copies what tsc does not (the Cedar schema),
// then stamps dist/.built. Skipped when dist/ is already newer than every file under src/.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { newestSource, STAMP } from '../bin/freshness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(root, STAMP);

let built = 0;
try {
  built = statSync(stamp).mtimeMs;
} catch {
  // never built
}
if (built > newestSource(src) && !process.argv.includes('--force')) process.exit(0);

execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
const assets = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? assets(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [] : [join(dir, e.name)]));
for (const file of assets(src)) {
  const to = join(dist, relative(src, file));
  mkdirSync(dirname(to), { recursive: true });
  cpSync(file, to);
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
process.stderr.write('build: dist/ compiled from src/\n');
