import { readFileSync } from 'node:fs';
import { authPaths } from '../../src/adapters/bus/nats/auth/principals.ts';
import { startEmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import type { Handoff, Share } from '../../src/api/schemas.ts';
import { Participant } from '../support/participant.ts';
import { tmateProcesses, uptermProcesses } from '../support/observe.ts';
import { toolPath } from '../support/tools.ts';
import { startUptermd } from '../support/uptermd.ts';
import { waitFor } from '../support/waitFor.ts';
import type { Fault, StepContext } from './engine.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** The share's backend process: upterm itself, or tmate's `-F` server. */
export function backendPid(stateDir: string, s: Share): number | undefined {
  if (s.backend === 'upterm') return uptermProcesses(stateDir, s.id)[0];
  return tmateProcesses(`${stateDir}/tmate-workers/${s.id}`).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('-F'));
}

const start: Fault = {
  kind: 'share start (upterm or tmate) with participants',
  weight: 6,
  async run(ctx) {
    const { world: w, rng, log } = ctx;
    const t = rng.pick(w.openTerminals())!;
    const backend = rng.chance(0.7) ? 'upterm' : 'tmate';
    const access = rng.chance(0.5) ? 'read-only' : 'read-write';
    const r = await w.client.request<{ share: Share }>('share.start', { terminal: `tmux:${t.name}`, backend, access, ttlSeconds: 600 });
    log(`share.start tmux:${t.name} ${backend} ${access}: ${r.ok ? `${r.value.share.id} ${r.value.share.state}` : r.code}`);
    if (!r.ok) return;
    const s = r.value.share;
    w.shares.set(s.id, { shareId: s.id, terminal: s.terminal, correlationId: s.correlationId, extended: 0, switched: 0 });
    // The tmate stand-in relay hosts no viewers: only upterm shares get ssh participants.
    if (backend !== 'upterm' || w.guests.length >= 4) return;
    for (let i = rng.int(1, 2); i > 0; i--) {
      const keepalive = rng.chance(0.67);
      const p = await Participant.join(s.link!.ssh, w.guestKey, { sshOptions: keepalive ? ['ServerAliveInterval=1'] : [] });
      w.guests.push({ p, shareId: s.id, link: s.link!.ssh, keepalive, exempt: false });
      log(`participant joined (${keepalive ? 'ServerAliveInterval=1' : 'plain ssh'})`);
    }
    await waitFor('the participants to be counted', async () => ((await w.share(s.id))?.participants ?? 0) > 0 || !w.guests.some((g) => g.shareId === s.id && g.p.connected()), 10_000);
  },
};

/** An active share picked by the PRNG (ordered by id, so that the pick reproduces); one is started when none is. */
export async function someShare(ctx: StepContext): Promise<Share | undefined> {
  const active = async () => (await ctx.world.liveShares()).filter((s) => ['active', 'expiring'].includes(s.state)).sort((a, b) => a.id.localeCompare(b.id));
  if ((await active()).length === 0) await start.run(ctx);
  return ctx.rng.pick(await active());
}

const end: Fault = {
  kind: 'share stop or revoke',
  weight: 2,
  async run(ctx) {
    const s = await someShare(ctx);
    if (!s) return ctx.log('no live share');
    const verb = ctx.rng.chance(0.5) ? 'share.stop' : 'share.revoke';
    const r = await ctx.world.client.request<{ share: Share }>(verb, { shareId: s.id, ...(verb === 'share.revoke' ? { reason: 'chaos' } : {}) });
    ctx.log(`${verb} ${s.id}: ${r.ok ? r.value.share.state : `${r.code} ${r.message}`}`);
  },
};

function signalBackend(signal: 'SIGKILL' | 'SIGSTOP'): Fault {
  return {
    kind: `backend ${signal}`,
    weight: 2,
    async run(ctx) {
      const s = await someShare(ctx);
      const pid = s && backendPid(ctx.world.stateDir, s);
      if (!s || !pid) return ctx.log('no live backend');
      process.kill(pid, signal);
      ctx.log(`${signal} ${s.backend} pid ${pid} of ${s.id}`);
      // uptermd 0.24 keeps a plain guest of a SIGKILLed upterm until it types (README): the one exception.
      if (signal === 'SIGKILL' && s.backend === 'upterm') for (const g of ctx.world.guests) if (g.shareId === s.id && g.link === s.link?.ssh && !g.keepalive) g.exempt = true;
    },
  };
}

export async function restartService(ctx: StepContext, signal: 'SIGKILL' | 'SIGTERM', opts: { before?: () => Promise<void> } = {}): Promise<void> {
  const w = ctx.world;
  await opts.before?.();
  w.serve.kill(signal);
  const exit = await w.serve;
  ctx.log(`serve ${signal}: exit ${exit.exitCode ?? exit.signal}`);
  if (signal === 'SIGTERM' && exit.exitCode !== 0) throw new Error(`serve exited ${exit.exitCode ?? exit.signal} on SIGTERM, not 0`);
  await w.startServe();
  ctx.log(`serve started again (run ${w.serveRuns})`);
}

const serviceDeath = (signal: 'SIGKILL' | 'SIGTERM'): Fault => ({ kind: `service ${signal} and restart`, weight: 1, run: (ctx) => restartService(ctx, signal) });

const natsOutage: Fault = {
  kind: 'nats-server stopped and started',
  weight: 1,
  async run({ world: w, rng, log }) {
    const how = rng.pick(['SIGINT', 'SIGKILL', 'SIGSTOP'] as const)!;
    const ms = rng.int(500, 5000);
    const pid = w.nats.pid!;
    if (how === 'SIGINT') await w.nats.stop();
    else process.kill(pid, how);
    log(`nats-server ${how}, ${ms} ms`);
    await sleep(ms);
    if (how === 'SIGSTOP') process.kill(pid, 'SIGCONT');
    else w.nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: `${w.stateDir}/nats`, authConfig: authPaths(w.stateDir).authConfig, preferredPort: w.nats.port });
    await waitFor('the operator to reach the service again', async () => (await w.client.request('share.list', {}, 2000).catch(() => ({ ok: false }))).ok, 30_000, 250);
  },
};

const relayOutage: Fault = {
  kind: 'uptermd killed and restarted',
  weight: 1,
  async run({ world: w, rng, log }) {
    const ms = rng.int(300, 4000);
    await w.relay.stop();
    log(`uptermd down for ${ms} ms`);
    await sleep(ms);
    w.relay = await startUptermd(toolPath('uptermd')!, { port: w.relay.port, keyDir: w.relay.keyDir });
  },
};

const tmateDrop: Fault = { kind: 'tmate relay drops its connections', weight: 1, run: async ({ world }) => world.tmate.dropAll() };

const closeTerminal: Fault = {
  kind: 'terminal closed',
  weight: 1,
  async run({ world: w, rng, log }) {
    const t = rng.pick(w.openTerminals())!;
    await w.tmux('kill-session', '-t', `=${t.name}`);
    t.closed = true;
    await t.human.close();
    log(`kill-session ${t.name}; new terminal ${(await w.newTerminal()).name}`);
  },
};

const handoff: Fault = {
  kind: 'handoff (in flight under a service kill, at times)',
  weight: 1,
  async run(ctx) {
    const { world: w, rng, log } = ctx;
    const t = rng.pick(w.openTerminals())!;
    const inFlight = rng.chance(0.4);
    const asked = w.client.request<{ handoff: Handoff }>('handoff.request', { terminal: `tmux:${t.name}`, to: { kind: 'ai', id: 'bot' } }, 15_000).catch((e: Error) => ({ ok: false as const, code: 'no reply', message: e.message }));
    if (inFlight) await restartService(ctx, 'SIGKILL', { before: async () => void (await sleep(rng.int(0, 300))) });
    const r = await asked;
    log(`handoff.request tmux:${t.name}${inFlight ? ' (service killed meanwhile)' : ''}: ${r.ok ? `${r.value.handoff.id} ${r.value.handoff.state}` : r.code}`);
    if (r.ok) w.handoffs.set(r.value.handoff.id, { terminal: r.value.handoff.terminal });
  },
};

const release: Fault = {
  kind: 'handoff released',
  weight: 1,
  async run({ world: w, rng, log }) {
    const held: string[] = [];
    for (const id of [...w.handoffs.keys()].sort()) if ((await w.client.request<{ handoff: Handoff }>('handoff.get', { handoffId: id })).ok) held.push(id);
    const id = rng.pick(held);
    if (!id) return log('no handoff the service knows');
    const r = await w.client.request<{ handoff: Handoff }>('handoff.release', { handoffId: id });
    log(`handoff.release ${id}: ${r.ok ? r.value.handoff.state : r.code}`);
  },
};

/** Two faults at once: a backend hung when its service dies (its reaper must wake and end it), or a relay down across a restart. */
const combined: Fault = {
  kind: 'backend SIGSTOP or uptermd outage, then service SIGKILL',
  weight: 1,
  async run(ctx) {
    if (ctx.rng.chance(0.5)) {
      await signalBackend('SIGSTOP').run(ctx);
      return restartService(ctx, 'SIGKILL');
    }
    await ctx.world.relay.stop();
    ctx.log('uptermd down');
    await restartService(ctx, 'SIGKILL');
    ctx.world.relay = await startUptermd(toolPath('uptermd')!, { port: ctx.world.relay.port, keyDir: ctx.world.relay.keyDir });
    ctx.log('uptermd back');
  },
};

export const FAULTS: readonly Fault[] = [combined, start, end, signalBackend('SIGKILL'), signalBackend('SIGSTOP'), serviceDeath('SIGKILL'), serviceDeath('SIGTERM'), natsOutage, relayOutage, tmateDrop, closeTerminal, handoff, release];
