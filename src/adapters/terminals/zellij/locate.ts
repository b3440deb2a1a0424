import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The step that puts zellij where `locateZellij` looks last. */
export const ZELLIJ_INSTALL_HINT = 'bash scripts/install-zellij.sh (or `npm run setup`)';

/** Where scripts/install-zellij.sh caches the binary it builds. */
export function zellijCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.TERMSHARE_ZELLIJ_ROOT || join(homedir(), '.local', 'share', 'termshare', 'zellij'), 'bin', 'zellij');
}

/** The zellij binary: TERMSHARE_ZELLIJ, else the first `zellij` on PATH, else the set-up's cache; undefined if none is there. */
export function locateZellij(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TERMSHARE_ZELLIJ) return existsSync(env.TERMSHARE_ZELLIJ) ? env.TERMSHARE_ZELLIJ : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (existsSync(join(dir, 'zellij'))) return join(dir, 'zellij');
  }
  const cached = zellijCachePath(env);
  return existsSync(cached) ? cached : undefined;
}
