import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, pinnedFingerprints } from '../../../../src/adapters/backends/upterm/hostKeyPin.ts';
import { ensureIdentity } from '../../../../src/service/keys.ts';

describe('the keys pinned for a relay', () => {
  it('are read back as the fingerprints ssh-keygen prints, for that relay only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pins-'));
    const [a, b] = await Promise.all([ensureIdentity(join(dir, 'a')), ensureIdentity(join(dir, 'b'))]);
    const [keyA, keyB] = await Promise.all([readFile(`${a}.pub`, 'utf8'), readFile(`${b}.pub`, 'utf8')]);
    const blob = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, `@cert-authority [127.0.0.1]:2222 ${blob(keyA)}\n[127.0.0.1]:3333 ${blob(keyB)}\n`);
    const pin = { knownHosts };
    expect(await pinnedFingerprints(pin, 'ssh://127.0.0.1:2222')).toEqual([await fingerprintOf(`${a}.pub`)]);
    expect(await pinnedFingerprints(pin, 'ssh://127.0.0.1:3333')).toEqual([await fingerprintOf(`${b}.pub`)]);
    expect(await pinnedFingerprints(pin, 'ssh://127.0.0.1:4444')).toEqual([]);
  });
});
