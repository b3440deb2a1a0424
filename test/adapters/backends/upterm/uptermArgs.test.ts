import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UptermBackend } from '../../../../src/adapters/backends/upterm/upterm.ts';
import type { BackendSession } from '../../../../src/adapters/backends/types.ts';
import { TmuxTerminals } from '../../../../src/adapters/terminals/tmux/tmux.ts';
import { ensureIdentity } from '../../../../src/service/keys.ts';

const fake = join(import.meta.dirname, '../../../fixtures/fake-upterm.sh');

describe('the upterm adapter (driving the fake-upterm fixture)', () => {
  let dir: string;
  let identity: string;
  const open: BackendSession[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-upterm-'));
    identity = await ensureIdentity(join(dir, 'id_ed25519'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.stop()));
    delete process.env.FAKE_UPTERM_MODE;
  });

  const tmux = new TmuxTerminals('sock');
  const backend = () =>
    new UptermBackend({
      bin: fake,
      server: 'ssh://127.0.0.1:2222',
      identityFile: identity,
      hostKey: { knownHosts: join(dir, 'known_hosts'), fingerprint: 'SHA256:pinnedFingerprint' },
      workDir: join(dir, 'workers'),
      guestAttach: (s) => tmux.attachCommand(s.terminal, { shareId: s.shareId, access: s.access, role: 'guest' }).argv,
    });
  const spec = (access: 'read-only' | 'read-write', shareId: string) => ({
    shareId,
    terminal: 'tmux:work',
    access,
    attach: tmux.attachCommand('tmux:work', { shareId, access, role: 'host' }),
    linkTimeoutMs: 3000,
  });

  it('a read-only share is read-only at upterm, at the hosted tmux client and in every guest view', async () => {
    process.env.FAKE_UPTERM_MODE = 'args';
    process.env.FAKE_UPTERM_ARGS_FILE = join(dir, 'ro.args');
    const r = await backend().start(spec('read-only', 'sh_readonly1'));
    if (!r.ok) throw new Error(r.error.message);
    open.push(r.value);
    const args = (await readFile(join(dir, 'ro.args'), 'utf8')).trim().split('\n');
    expect(args).toContain('--read-only');
    const force = args[args.indexOf('--force-command') + 1]!;
    expect(force).toMatch(/TERMSHARE_SHARE=sh_readonly1 TERMSHARE_ROLE=guest \S+ \S+\/bin\/termshare-view\.js --tmux tmux --socket sock --session work --access read-only$/);
    expect(args.slice(args.indexOf('--') + 1).join(' ')).toMatch(/TERMSHARE_ROLE=host tmux -L sock attach-session -f read-only,ignore-size -t =work$/);
    expect(r.value.link).toEqual({ ssh: 'ssh fakeSess1on:MTI3LjAuMC4xOjIyMjI=@127.0.0.1 -p 2222', sshReadOnly: 'ssh fakeSess1on:MTI3LjAuMC4xOjIyMjI=@127.0.0.1 -p 2222' });
  });

  it('a read-write share lets guests write through the confined view while the hosted client stays read-only', async () => {
    process.env.FAKE_UPTERM_MODE = 'args';
    process.env.FAKE_UPTERM_ARGS_FILE = join(dir, 'rw.args');
    const r = await backend().start(spec('read-write', 'sh_readwrite1'));
    if (!r.ok) throw new Error(r.error.message);
    open.push(r.value);
    const args = (await readFile(join(dir, 'rw.args'), 'utf8')).trim().split('\n');
    expect(args).not.toContain('--read-only');
    // Guests get the confined view: writing goes through it, never through a writable tmux client.
    expect(args[args.indexOf('--force-command') + 1]).toMatch(/termshare-view\.js --tmux tmux --socket sock --session work --access read-write$/);
    expect(args.slice(args.indexOf('--') + 1).join(' ')).toMatch(/-f read-only,ignore-size/);
    expect(r.value.link.sshReadOnly).toBeUndefined();
  });

  it('guests get no file transfer, and the relay is checked against our pinned known_hosts, never skipped', async () => {
    process.env.FAKE_UPTERM_MODE = 'args';
    process.env.FAKE_UPTERM_ARGS_FILE = join(dir, 'pin.args');
    const r = await backend().start(spec('read-write', 'sh_pinned1'));
    if (!r.ok) throw new Error(r.error.message);
    open.push(r.value);
    const args = (await readFile(join(dir, 'pin.args'), 'utf8')).trim().split('\n');
    const ours = args.slice(0, args.indexOf('--'));
    expect(ours).toContain('--no-sftp');
    expect(ours[ours.indexOf('--known-hosts') + 1]).toBe(join(dir, 'known_hosts'));
    expect(ours).not.toContain('--skip-host-key-check');
  });

  it('a process that dies after its link settles `exited` with its exit code', async () => {
    process.env.FAKE_UPTERM_MODE = 'crash';
    const r = await backend().start(spec('read-only', 'sh_crashing1'));
    if (!r.ok) throw new Error(r.error.message);
    expect(await r.value.exited).toMatchObject({ exitCode: 3, message: 'upterm exited with code 3' });
  });

  it('a refused relay is backend_unavailable, naming the relay and what to check', async () => {
    process.env.FAKE_UPTERM_MODE = 'refused';
    const r = await backend().start(spec('read-only', 'sh_refused1'));
    expect(r.ok || r.error.code).toBe('backend_unavailable');
    expect(r.ok || r.error.message).toMatch(/relay ssh:\/\/127\.0\.0\.1:2222 is unreachable .* check TERMSHARE_UPTERM_SERVER/);
  });

  it('a missing upterm binary says how to install it', async () => {
    const b = new UptermBackend({ bin: join(dir, 'nope'), identityFile: identity, hostKey: { knownHosts: join(dir, 'known_hosts') }, workDir: dir, guestAttach: () => [] });
    const r = await b.start(spec('read-only', 'sh_missing1'));
    expect(r.ok || r.error.message).toMatch(/run `npm run setup`/);
  });
});
