import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inboxPrefixOf, parseCredentials, readCredentials, renderCredentials, newCredentials } from '../../../../../src/adapters/bus/nats/auth/credentials.ts';
import { Principals, PrincipalError } from '../../../../../src/adapters/bus/nats/auth/principals.ts';

const fresh = async (canWatch?: (p: string) => Promise<boolean>) => new Principals(await mkdtemp(join(tmpdir(), 'ts-principals-')), 'termshare', canWatch);
const mode = async (f: string) => (await stat(f)).mode & 0o777;

describe('credentials files', () => {
  it('round-trip the principal and the seed, and name the inbox prefix', () => {
    const c = newCredentials('ai:claude');
    const text = renderCredentials(c);
    expect(text).toContain(`# inbox prefix: ${inboxPrefixOf(c.publicKey)}`);
    const back = parseCredentials(text);
    expect(back).toMatchObject({ principal: 'ai:claude', publicKey: c.publicKey });
    expect(new TextDecoder().decode(back.seed)).toBe(new TextDecoder().decode(c.seed));
  });
  it('refuse a file without a principal or a seed, saying so', () => {
    expect(() => parseCredentials('# nothing here\n', 'x.creds')).toThrow(/x\.creds is not a termshare credentials file/);
    expect(() => parseCredentials('# principal: human:a\nSUnotaseed\n', 'y.creds')).toThrow(/y\.creds: the nkey seed is not valid/);
  });
});

describe('the principals registry', () => {
  it('first run makes the service\'s and the operator\'s credentials, 0600, and an accounts file naming both keys', async () => {
    const p = await fresh();
    const { service, operator } = await p.ensure('human:alice');
    expect(operator).toMatchObject({ principal: 'human:alice', operator: true });
    expect(await mode(p.paths.service)).toBe(0o600);
    expect(await mode(p.paths.operator)).toBe(0o600);
    expect((await readCredentials(p.paths.operator)).publicKey).toBe(operator.publicKey);
    const conf = await readFile(p.paths.authConfig, 'utf8');
    expect(conf).toContain(service.publicKey);
    expect(conf).toContain(operator.publicKey);
    // A second run keeps both.
    const again = await p.ensure('human:alice');
    expect(again.operator.publicKey).toBe(operator.publicKey);
    expect(again.service.publicKey).toBe(service.publicKey);
  });

  it('adds a principal once; a second add is refused until the first is revoked', async () => {
    const p = await fresh();
    await p.ensure('human:alice');
    const { entry, file } = await p.add('ai:claude');
    expect(await mode(file)).toBe(0o600);
    await expect(p.add('ai:claude')).rejects.toThrow(PrincipalError);
    await expect(p.add('robot:x')).rejects.toThrow(/is not human:<id> or ai:<id>/);
    expect(await readFile(p.paths.authConfig, 'utf8')).toContain(entry.publicKey);
    const revoked = await p.revoke('ai:claude');
    expect(revoked.revokedAt).toBeDefined();
    expect(await readFile(p.paths.authConfig, 'utf8')).not.toContain(entry.publicKey);
    expect((await p.byKey(entry.publicKey))?.revokedAt).toBe(revoked.revokedAt);
    await expect(stat(file)).rejects.toThrow();
    const second = await p.add('ai:claude');
    expect(second.entry.publicKey).not.toBe(entry.publicKey);
  });

  it('opens the broadcasts only to principals the policy lets read events', async () => {
    const p = await fresh(async (who) => who === 'human:alice');
    await p.ensure('human:alice');
    const bot = await p.add('ai:bot');
    const conf = await readFile(p.paths.authConfig, 'utf8');
    const lineOf = (key: string) => conf.split('\n').find((l) => l.includes(key))!;
    const alice = (await p.list()).find((e) => e.principal === 'human:alice')!;
    expect(lineOf(alice.publicKey)).toContain('termshare.events.>');
    expect(lineOf(bot.entry.publicKey)).not.toContain('termshare.events.>');
    expect(lineOf(bot.entry.publicKey)).toContain(`${inboxPrefixOf(bot.entry.publicKey)}.>`);
  });
});
