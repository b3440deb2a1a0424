import type { Share } from '../../src/api/schemas.ts';
import type { Reply } from '../../src/cli/client.ts';
import type { Fault, StepContext } from './engine.ts';
import { someShare } from './faults.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Verb = 'share.extend' | 'share.switch' | 'share.revoke' | 'share.stop';

/** One request on a share, counted in the world when granted (the audit invariant expects its record). */
async function ask(ctx: StepContext, s: Share, verb: Verb, delayMs = 0): Promise<void> {
  await sleep(delayMs);
  const w = ctx.world;
  const body: Record<string, unknown> = { shareId: s.id };
  if (verb === 'share.extend') body.ttlSeconds = ctx.rng.int(60, 900);
  if (verb === 'share.switch') body.backend = s.backend === 'upterm' ? 'tmate' : 'upterm';
  if (verb === 'share.revoke') body.reason = 'chaos race';
  const r: Reply<{ share: Share }> = await w.client.request<{ share: Share }>(verb, body, 30_000).catch((e: Error) => ({ ok: false, code: 'no reply', message: e.message }));
  ctx.log(`${verb} ${s.id}${delayMs ? ` (+${delayMs} ms)` : ''}: ${r.ok ? `${r.value.share.state} ${r.value.share.backend}` : `${r.code}: ${r.message.slice(0, 160)}`}`);
  const asked = w.shares.get(s.id);
  if (!r.ok || !asked) return;
  if (verb === 'share.extend') asked.extended++;
  if (verb === 'share.switch') asked.switched++;
}

/** Two requests on one live share, the second sent a random few milliseconds after the first. */
function race(first: Verb, second: Verb): Fault {
  return {
    kind: `race ${first} / ${second}`,
    weight: 1,
    async run(ctx) {
      const s = await someShare(ctx);
      if (!s) return ctx.log('no live share');
      await Promise.all([ask(ctx, s, first), ask(ctx, s, second, ctx.rng.int(0, 400))]);
    },
  };
}

/** A share brought to the edge of its expiry, then extended or revoked around the moment it expires. */
const expiry: Fault = {
  kind: 'race expiry / extend or revoke',
  weight: 1,
  async run(ctx) {
    const s = await someShare(ctx);
    if (!s) return ctx.log('no live share');
    const ttl = ctx.rng.int(2, 3);
    const r = await ctx.world.client.request<{ share: Share }>('share.extend', { shareId: s.id, ttlSeconds: ttl });
    ctx.log(`share.extend ${s.id} to ${ttl} s: ${r.ok ? r.value.share.state : r.code}`);
    if (r.ok) ctx.world.shares.get(s.id)!.extended++;
    await ask(ctx, s, ctx.rng.chance(0.5) ? 'share.extend' : 'share.revoke', ttl * 1000 + ctx.rng.int(-600, 300));
  },
};

const single = (verb: Verb): Fault => ({
  kind: verb,
  weight: 1,
  async run(ctx) {
    const s = await someShare(ctx);
    if (!s) return ctx.log('no live share');
    await ask(ctx, s, verb);
  },
});

export const REQUEST_RACES: readonly Fault[] = [race('share.revoke', 'share.extend'), race('share.switch', 'share.revoke'), race('share.stop', 'share.switch'), expiry, single('share.extend'), single('share.switch')];
