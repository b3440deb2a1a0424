import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access, Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'sftp', 'scp', 'setpriv', 'upterm', 'uptermd');

/** `ssh SESSION@127.0.0.1 -p PORT` as the pieces sftp and scp want. */
function target(link: string): { user: string; host: string; port: string } {
  const m = link.match(/^ssh\s+(\S+)@(\S+)\s+-p\s+(\d+)$/);
  if (!m) throw new Error(`not an upterm link: ${link}`);
  return { user: m[1]!, host: m[2]!, port: m[3]! };
}

describe.skipIf(missing.length > 0)('an upterm guest gets the terminal and nothing else (real upterm, sftp, scp, ssh)', () => {
  let h: Harness;
  let secret: string;
  let out: string;
  beforeAll(async () => {
    h = await startHarness();
    out = await mkdtemp(join(tmpdir(), 'guest-loot-'));
    secret = join(h.dir, 'host-secret.txt');
    await writeFile(secret, 'the host user can read this\n');
  });
  afterAll(async () => {
    await h?.stop();
  });

  // upterm's user part holds a `:`, which sftp and scp would read as host:path, so it goes in as -o User=.
  const opts = (user: string) => ['-o', `User=${user}`, '-i', h.guestKey, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5'];

  for (const access of ['read-only', 'read-write'] as const satisfies Access[]) {
    describe(`on a ${access} share`, () => {
      let link: string;
      beforeAll(async () => {
        const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal(`files-${access}`), backend: 'upterm', access, requester: OPERATOR });
        if (!r.ok) throw new Error(r.message);
        link = r.value.share.link!.ssh;
      });

      it('sftp of a host file fails and nothing is fetched', async () => {
        const t = target(link);
        const dest = join(out, `sftp-${access}.txt`);
        const batch = join(out, `batch-${access}`);
        await writeFile(batch, `get ${secret} ${dest}\n`);
        const r = await execa('sftp', ['-b', batch, '-P', t.port, ...opts(t.user), t.host], { reject: false, timeout: 20_000 });
        expect(r.exitCode).not.toBe(0);
        expect(existsSync(dest)).toBe(false);
      });

      it('scp of a host file fails, over the sftp protocol and the legacy one', async () => {
        const t = target(link);
        for (const legacy of [false, true]) {
          const dest = join(out, `scp-${access}-${legacy ? 'legacy' : 'sftp'}.txt`);
          const r = await execa('scp', [...(legacy ? ['-O'] : []), '-P', t.port, ...opts(t.user), `${t.host}:${secret}`, dest], { reject: false, timeout: 20_000 });
          expect(r.exitCode).not.toBe(0);
          expect(existsSync(dest)).toBe(false);
        }
      });

      it('a command given to ssh is not run on the host', async () => {
        const t = target(link);
        const marker = join(out, `ran-${access}`);
        const r = await execa('ssh', ['-p', t.port, ...opts(t.user), t.host, `touch ${marker}; cat ${secret}`], { reject: false, timeout: 20_000, stdin: 'ignore' });
        expect(r.stdout).not.toContain(await readFile(secret, 'utf8'));
        expect(existsSync(marker)).toBe(false);
      });
    });
  }
});
