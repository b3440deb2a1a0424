import { execaSync } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultToolsBin } from '../../src/config.ts';
import { ZELLIJ_INSTALL_HINT, locateZellij } from '../../src/adapters/terminals/zellij/locate.ts';

const installHints: Record<string, string> = {
  'nats-server': 'apt-get install nats-server (or `npm run setup`)',
  tmux: 'apt-get install tmux (or `npm run setup`)',
  tmate: 'apt-get install tmate (or `npm run setup`)',
  ssh: 'apt-get install openssh-client (or `npm run setup`)',
  setpriv: 'apt-get install util-linux (or `npm run setup`)',
  chromium: 'apt-get install chromium (or `npm run setup`)',
  upterm: 'bash scripts/install-upterm.sh (or `npm run setup`)',
  uptermd: 'bash scripts/install-upterm.sh (or `npm run setup`)',
  zellij: ZELLIJ_INSTALL_HINT,
  asciinema: 'apt-get install asciinema (or `npm run setup`)',
};

export const toolsBin = defaultToolsBin();

export function toolPath(name: string): string | undefined {
  if (name === 'zellij') return locateZellij();
  if (name === 'upterm' || name === 'uptermd') {
    const p = join(toolsBin, name);
    return existsSync(p) ? p : undefined;
  }
  const r = execaSync('sh', ['-c', `command -v ${name}`], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * Tools a real-parts test needs. Under CI a missing tool is a failure naming the install step;
 * elsewhere the suite is skipped, loudly.
 */
export function missingTools(...names: string[]): string[] {
  const missing = names.filter((n) => !toolPath(n));
  if (missing.length === 0) return [];
  const msg = `missing ${missing.map((m) => `${m} (install: ${installHints[m] ?? m})`).join(', ')}`;
  if (process.env.CI) throw new Error(`real-parts test cannot run: ${msg}`);
  console.warn(`SKIPPING real-parts tests: ${msg}`);
  return missing;
}
