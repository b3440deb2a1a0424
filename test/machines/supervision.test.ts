import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor, type AnyActorRef } from 'xstate';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { backendProcess } from '../../src/actors/backendProcess.ts';
import type { RestartPolicy } from '../../src/machines/restartPolicy.ts';

/** Restarts a few ms apart: these tests run on the real clock. */
const FAST_BACKOFF = { initialMs: 10, factor: 2, maxMs: 50 };
import { shareSession, type PolicyDecision, type PolicyQuery, type ShareSessionInput } from '../../src/machines/shareSession.ts';
import { shareWorker } from '../../src/machines/shareWorker.ts';
import { supervisor } from '../../src/machines/supervisor.ts';

/** The real machines and backend actor, over the in-memory twins: supervision without any process. */
function world(opts: { restart?: RestartPolicy; heartbeatTimeoutMs?: number } = {}) {
  const backend = new MemoryBackend('upterm');
  const tmate = new MemoryBackend('tmate');
  const terminals = new MemoryTerminals();
  terminals.terminals.add('tmux:a').add('tmux:b');
  const proc = backendProcess({ backends: { upterm: backend, tmate }, terminals, linkTimeoutMs: 500, heartbeatIntervalMs: 20, now: Date.now });
  const machine = supervisor.provide({
    actors: {
      shareSession: shareSession.provide({
        actors: {
          policy: fromPromise<PolicyDecision, PolicyQuery>(async () => ({ decision: 'allow', policies: ['test'], message: 'ok' })),
          worker: shareWorker.provide({ actors: { backend: proc } }),
        },
      }),
    },
  });
  const sup = createActor(machine, { input: { maxSharesPerTerminal: 2 } });
  const rejected: string[] = [];
  sup.on('share.rejected', (e) => rejected.push(e.code));
  sup.start();
  const input = (shareId: string, terminal: string): ShareSessionInput => ({
    shareId,
    terminal,
    terminalId: terminal,
    backend: 'upterm',
    access: 'read-only',
    requester: { kind: 'human', id: 'alice' },
    ttlMs: 60_000,
    graceMs: 5_000,
    correlationId: `c-${shareId}`,
    approvalId: `ap_${shareId.slice(3)}`,
    restartPolicy: opts.restart ?? { maxRestarts: 2, windowMs: 60_000, backoff: FAST_BACKOFF },
    workerTimings: { linkTimeoutMs: 1000, heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 1000, stopTimeoutMs: 500 },
  });
  const share = (id: string) => sup.getSnapshot().children[id] as AnyActorRef;
  const start = async (id: string, terminal: string) => {
    sup.send({ type: 'SHARE.START', session: input(id, terminal) });
    const ref = share(id);
    if (!ref) return undefined;
    await waitFor(ref, (s) => s.context.link !== undefined || s.status === 'done', { timeout: 2000 });
    return ref;
  };
  return { sup, backend, tmate, terminals, start, share, rejected };
}

describe('supervision', () => {
  it('a crashed worker is restarted with a new link, and its sibling is left alone', async () => {
    const w = world();
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const b = (await w.start('sh_bbbbbb', 'tmux:b'))!;
    const bLink = b.getSnapshot().context.link.ssh;
    const first = a.getSnapshot().context.link.ssh;
    w.backend.sessions.get('sh_aaaaaa')!.crash();
    await waitFor(a, (s) => s.context.link?.ssh !== first, { timeout: 2000 });
    expect(a.getSnapshot().matches({ live: { lifetime: 'active' } })).toBe(true);
    expect(b.getSnapshot().context.link.ssh).toBe(bLink);
    expect(w.backend.live()).toHaveLength(2);
  });

  it('a worker crashing past its restart budget fails its share; the sibling stays active', async () => {
    const w = world({ restart: { maxRestarts: 2, windowMs: 60_000, backoff: FAST_BACKOFF } });
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const b = (await w.start('sh_bbbbbb', 'tmux:b'))!;
    for (let i = 0; i < 3; i++) {
      const link = a.getSnapshot().context.link.ssh;
      w.backend.sessions.get('sh_aaaaaa')!.crash();
      if (i < 2) await waitFor(a, (s) => s.context.link?.ssh !== link, { timeout: 2000 });
    }
    const end = await waitFor(a, (s) => s.status === 'done', { timeout: 2000 });
    expect(end.value).toBe('failed');
    expect(end.context.failure.message).toMatch(/crashed 3 times within 60 s/);
    expect(b.getSnapshot().matches({ live: { lifetime: 'active' } })).toBe(true);
    expect(Object.keys(w.sup.getSnapshot().context.shares)).toEqual(['sh_bbbbbb']);
    expect(w.backend.live().map((s) => s.link.ssh)).toEqual([b.getSnapshot().context.link.ssh]);
  });

  it('a worker that misses its heartbeat is ended and replaced', async () => {
    const w = world({ heartbeatTimeoutMs: 150 });
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const first = w.backend.sessions.get('sh_aaaaaa')!;
    // The probe hangs (a wedged terminal server): no heartbeat reaches the worker.
    w.terminals.clients = () => new Promise(() => {});
    await waitFor(a, (s) => s.context.restartsInWindow === 1, { timeout: 2000 });
    expect(first.isAlive()).toBe(false);
  });

  it('the per-terminal limit refuses a third share without spawning anything', async () => {
    const w = world();
    await w.start('sh_aaaaa1', 'tmux:a');
    await w.start('sh_aaaaa2', 'tmux:a');
    expect(await w.start('sh_aaaaa3', 'tmux:a')).toBeUndefined();
    expect(w.rejected).toEqual(['limit_exceeded']);
    expect(w.backend.sessions.has('sh_aaaaa3')).toBe(false);
    expect(await w.start('sh_bbbbb1', 'tmux:b')).toBeDefined();
  });

  it('a closed terminal ends only its own shares', async () => {
    const w = world();
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const b = (await w.start('sh_bbbbbb', 'tmux:b'))!;
    w.sup.send({ type: 'TERMINAL.CLOSED', terminal: 'tmux:a', at: Date.now() });
    const end = await waitFor(a, (s) => s.status === 'done', { timeout: 2000 });
    expect(end.value).toBe('stopped');
    expect(end.context.endReason).toBe('terminal-closed');
    expect(b.getSnapshot().status).toBe('active');
    expect(w.backend.sessions.get('sh_aaaaaa')!.isAlive()).toBe(false);
  });

  it('shutdown stops every share and ends with no live backend', async () => {
    const w = world();
    await w.start('sh_aaaaaa', 'tmux:a');
    await w.start('sh_bbbbbb', 'tmux:b');
    w.sup.send({ type: 'SHUTDOWN', at: Date.now() });
    await waitFor(w.sup, (s) => s.status === 'done', { timeout: 2000 });
    expect(w.backend.live()).toEqual([]);
  });

  it('switch makes before it breaks: the new link is in hand before the old process ends', async () => {
    const w = world();
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const expiresAt = a.getSnapshot().context.expiresAt;
    const old = w.backend.sessions.get('sh_aaaaaa')!;
    let oldAliveWhenNewStarted: boolean | undefined;
    const start = w.tmate.start.bind(w.tmate);
    w.tmate.start = async (spec) => {
      oldAliveWhenNewStarted = old.isAlive();
      return start(spec);
    };
    const switched = new Promise((r) => a.on('share.switched', r));
    a.send({ type: 'SWITCH', at: Date.now(), backend: 'tmate', by: 'human:alice' });
    expect(await switched).toMatchObject({ from: 'upterm', to: 'tmate', link: { ssh: expect.stringMatching(/^ssh tmate/) } });
    expect(oldAliveWhenNewStarted).toBe(true);
    expect(old.isAlive()).toBe(false);
    const c = a.getSnapshot().context;
    expect([c.backend, c.link.ssh, c.expiresAt]).toEqual(['tmate', w.tmate.sessions.get('sh_aaaaaa')!.link.ssh, expiresAt]);
    // A later crash restarts the worker on the backend it switched to.
    w.tmate.sessions.get('sh_aaaaaa')!.crash();
    await waitFor(a, (s) => s.context.restartsInWindow === 1 && s.context.link?.ssh.startsWith('ssh tmate2'), { timeout: 2000 });
  });

  it('a switch whose new backend fails leaves the old one serving, and says why', async () => {
    const w = world();
    const a = (await w.start('sh_aaaaaa', 'tmux:a'))!;
    const link = a.getSnapshot().context.link.ssh;
    w.tmate.mode = 'unreachable';
    const failed = new Promise((r) => a.on('share.switch-failed', r));
    a.send({ type: 'SWITCH', at: Date.now(), backend: 'tmate', by: 'human:alice' });
    expect(await failed).toMatchObject({ backend: 'tmate', failure: { code: 'backend_unavailable' } });
    expect(a.getSnapshot().context).toMatchObject({ backend: 'upterm', link: { ssh: link }, switchingTo: undefined });
    expect(w.backend.sessions.get('sh_aaaaaa')!.isAlive()).toBe(true);
  });

  it('a tmate share counts the viewers its relay reports as participants', async () => {
    const w = world();
    w.sup.send({ type: 'SHARE.START', session: tmateInput('sh_tmate1') });
    const ref = w.share('sh_tmate1');
    await waitFor(ref, (s) => s.context.link !== undefined, { timeout: 2000 });
    w.tmate.sessions.get('sh_tmate1')!.clients = 2;
    const s = await waitFor(ref, (x) => x.context.participants.length === 2, { timeout: 2000 });
    expect(s.context.participants).toEqual(['tmate-viewer-1', 'tmate-viewer-2']);
  });
});

function tmateInput(shareId: string): ShareSessionInput {
  return {
    shareId,
    terminal: 'tmux:a',
    terminalId: '$0',
    backend: 'tmate',
    access: 'read-only',
    requester: { kind: 'human', id: 'alice' },
    ttlMs: 60_000,
    graceMs: 5_000,
    correlationId: 'c',
    approvalId: 'ap_tmate1',
    restartPolicy: { maxRestarts: 2, windowMs: 60_000, backoff: FAST_BACKOFF },
    workerTimings: { linkTimeoutMs: 1000, heartbeatTimeoutMs: 1000, stopTimeoutMs: 500 },
  };
}
