import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';

/** The service's own ssh identity for upterm, made once under the state dir. */
export async function ensureIdentity(file: string): Promise<string> {
  try {
    await access(file);
    return file;
  } catch {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const r = await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'termshare', '-f', file], { reject: false });
    if (r.exitCode !== 0) throw new Error(`ssh-keygen failed (${r.stderr}); install openssh-client (npm run setup)`);
    return file;
  }
}
