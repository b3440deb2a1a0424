import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditKeyFiles, ensureAuditKey, loadAuditPublicKey, verifySignature } from '../../../../src/adapters/audit/jetstream/auditKey.ts';
import { checkpointFile, checkpointProblem, makeCheckpoint, readCheckpoint, writeCheckpoint } from '../../../../src/adapters/audit/jetstream/checkpoint.ts';
import { trustOf } from '../../../../src/cli/auditVerify.ts';

const mode = (f: string) => statSync(f).mode & 0o777;

describe('audit key and checkpoint files', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'termshare-auditkey-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const signer = async () => {
    const k = await ensureAuditKey(dir);
    if (!k.ok) throw new Error(k.error);
    return k.value;
  };

  it('the key is made once under the state dir, the private key 0600 with its public key beside it', async () => {
    const first = await signer();
    const files = auditKeyFiles(dir);
    expect(files.privateKey).toBe(join(dir, 'keys', 'audit-ed25519.pem'));
    expect(mode(files.privateKey)).toBe(0o600);
    expect(first.created).toBe(true);
    expect(await readFile(files.publicKey, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const again = await signer();
    expect(again).toMatchObject({ created: false, keyId: first.keyId });
    const pub = await loadAuditPublicKey(files.publicKey);
    expect(pub.ok && pub.value.keyId).toBe(first.keyId);
    expect(pub.ok && verifySignature(pub.value, 'sha256:x', again.sign('sha256:x'))).toBe(true);
    expect(pub.ok && verifySignature(pub.value, 'sha256:y', again.sign('sha256:x'))).toBe(false);
    expect(pub.ok && verifySignature(pub.value, 'sha256:x', 'not-a-signature')).toBe(false);
  });

  it('a public key file that is not the private key’s is told; an unreadable private key is an error, not a new key', async () => {
    await signer();
    const other = await ensureAuditKey(join(dir, 'other'));
    if (!other.ok) throw new Error(other.error);
    await writeFile(auditKeyFiles(dir).publicKey, other.value.publicPem);
    expect((await signer()).warning).toMatch(/is not the public key of .*audit-ed25519\.pem/);
    await writeFile(auditKeyFiles(dir).privateKey, 'garbage');
    const broken = await ensureAuditKey(dir);
    expect(broken).toMatchObject({ ok: false, error: expect.stringMatching(/audit-ed25519\.pem: not a PEM private key/) });
    expect(await loadAuditPublicKey(join(dir, 'nope.pem'))).toEqual({ ok: false, error: `${join(dir, 'nope.pem')}: no such file` });
  });

  it('the checkpoint is written 0600 and reads back signed; a missing one is no checkpoint, a garbled one an error', async () => {
    const s = await signer();
    const file = checkpointFile(dir);
    expect(await readCheckpoint(file)).toEqual({ ok: true, value: undefined });
    const cp = makeCheckpoint({ seq: 7, eventId: 'e7', hash: 'sha256:abc' }, s, new Date('2026-01-01T00:00:00Z'));
    await writeCheckpoint(file, cp);
    expect(mode(file)).toBe(0o600);
    const back = await readCheckpoint(file);
    expect(back).toEqual({ ok: true, value: cp });
    expect(back.ok && back.value && checkpointProblem(back.value, s)).toBeUndefined();
    expect(checkpointProblem({ ...cp, seq: 3 }, s)).toMatch(/signature does not match/);
    await writeFile(file, '{"eventId": 1}');
    expect(await readCheckpoint(file)).toMatchObject({ ok: false, error: expect.stringMatching(/not a checkpoint \(eventId: /) });
  });

  it('verify checks against the state dir’s key and checkpoint by default, or the ones named', async () => {
    expect(await trustOf({}, dir)).toMatchObject({ ok: false, exit: 2, error: expect.stringMatching(/no audit public key: .*audit-ed25519\.pub\.pem: no such file.*TERMSHARE_STATE_DIR/) });
    const s = await signer();
    expect(await trustOf({}, dir)).toMatchObject({ ok: true, value: { key: { keyId: s.keyId }, none: `none at ${checkpointFile(dir)}` } });
    await writeCheckpoint(checkpointFile(dir), makeCheckpoint({ eventId: 'e', hash: 'h' }, s));
    expect(await trustOf({}, dir)).toMatchObject({ ok: true, value: { checkpoint: { eventId: 'e' }, checkpointFile: checkpointFile(dir) } });
    expect(await trustOf({ checkpoint: false }, dir)).toMatchObject({ ok: true, value: { none: 'not checked (--no-checkpoint)' } });
    expect(await trustOf({ checkpoint: join(dir, 'missing.json') }, dir)).toMatchObject({ ok: false, exit: 2 });
    expect(await trustOf({ key: join(dir, 'missing.pem') }, dir)).toMatchObject({ ok: false, exit: 2 });
    await writeFile(checkpointFile(dir), 'garbled');
    expect(await trustOf({}, dir)).toMatchObject({ ok: false, exit: 1, error: expect.stringMatching(/checkpoint cannot be read: .*not JSON/) });
  });
});
