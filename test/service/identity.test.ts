import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { Principals } from '../../src/adapters/bus/nats/auth/principals.ts';
import { callerOf, checkClaims, REQUEST_INFO_HEADER } from '../../src/service/identity.ts';

const info = (v: unknown) => {
  const h = headers();
  h.set(REQUEST_INFO_HEADER, typeof v === 'string' ? v : JSON.stringify(v));
  return h;
};

describe('who a request comes from', () => {
  it('is the principal of the key the server stamped, in the users account; anything else is unauthorized', async () => {
    const p = new Principals(await mkdtemp(join(tmpdir(), 'ts-identity-')), 'termshare');
    const { operator } = await p.ensure('human:alice');
    expect(await callerOf(info({ acc: 'TERMSHARE_USERS', user: operator.publicKey }), p)).toEqual({ ok: true, value: { kind: 'human', id: 'alice' } });
    for (const h of [undefined, info('not json'), info({ acc: 'TERMSHARE', user: operator.publicKey }), info({ acc: 'TERMSHARE_USERS' })]) {
      const r = await callerOf(h, p);
      expect(r.ok || r.error.code).toBe('unauthorized');
    }
    const unknown = await callerOf(info({ acc: 'TERMSHARE_USERS', user: 'UNOBODY' }), p);
    expect(!unknown.ok && unknown.error.message).toMatch(/is not a termshare principal/);
    const bot = await p.add('ai:bot');
    await p.revoke('ai:bot');
    const revoked = await callerOf(info({ acc: 'TERMSHARE_USERS', user: bot.entry.publicKey }), p);
    expect(!revoked.ok && revoked.error.message).toMatch(/credentials of ai:bot were revoked/);
  });

  it('a body naming someone else as requester or approver is refused, naming the caller', () => {
    const me = { kind: 'human' as const, id: 'mallory' };
    expect(checkClaims({ requester: me }, me).ok).toBe(true);
    expect(checkClaims({}, me).ok).toBe(true);
    const forged = checkClaims({ approver: { kind: 'human', id: 'lee' } }, me);
    expect(!forged.ok && forged.error).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/signed in as human:mallory, but the request says approver human:lee/) });
    expect(checkClaims({ requester: { kind: 'ai', id: 'mallory' } }, me).ok).toBe(false);
  });
});
