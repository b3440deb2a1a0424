// Whether dist/ was built after the last change under src/: bin/termshare.js runs it only then.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP = 'dist/.built';

/** The newest mtime of any file or directory under `dir` (a deleted file changes its directory's). */
export function newestSource(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}
