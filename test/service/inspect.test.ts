import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { backendProcess } from '../../src/actors/backendProcess.ts';
import { shareSession, type PolicyDecision, type PolicyQuery } from '../../src/machines/shareSession.ts';
import { shareWorker } from '../../src/machines/shareWorker.ts';
import { formatInspect, natsInspector, type InspectRecord } from '../../src/service/inspect.ts';

describe('the development inspector', () => {
  it('publishes each actor transition with its state, and never an event payload (links are secrets)', async () => {
    const published: { subject: string; rec: InspectRecord }[] = [];
    const nc = { publish: (subject: string, data: string) => published.push({ subject, rec: JSON.parse(data) }) };
    const backend = new MemoryBackend();
    const terminals = new MemoryTerminals();
    terminals.terminals.add('tmux:a');
    const machine = shareSession.provide({
      actors: {
        policy: fromPromise<PolicyDecision, PolicyQuery>(async () => ({ decision: 'allow', policies: ['p'], message: 'ok' })),
        worker: shareWorker.provide({ actors: { backend: backendProcess({ backends: { upterm: backend }, terminals, linkTimeoutMs: 500, heartbeatIntervalMs: 50, now: Date.now }) } }),
      },
    });
    const actor = createActor(machine, {
      id: 'sh_inspect1',
      inspect: natsInspector(nc as never, 'termshare'),
      input: {
        shareId: 'sh_inspect1', terminal: 'tmux:a', terminalId: '$0', backend: 'upterm', access: 'read-only', requester: { kind: 'human', id: 'a' },
        ttlMs: 60_000, graceMs: 1000, correlationId: 'c', approvalId: 'ap_inspect1',
        restartPolicy: { maxRestarts: 1, windowMs: 1000, backoff: { initialMs: 10, factor: 2, maxMs: 50 } }, workerTimings: { linkTimeoutMs: 1000, heartbeatTimeoutMs: 1000, stopTimeoutMs: 500 },
      },
    }).start();
    await new Promise<void>((r) => actor.subscribe((s) => s.context.link && r()));
    actor.stop();
    const session = published.filter((p) => p.subject === 'termshare.inspect.sh_inspect1').map((p) => p.rec);
    expect(session.map((r) => r.event)).toEqual(expect.arrayContaining(['xstate.init', 'WORKER.READY']));
    expect(session.find((r) => r.event === 'WORKER.READY')!.state).toEqual({ live: { worker: { alive: 'running' }, lifetime: 'active' } });
    expect(published.some((p) => p.subject === 'termshare.inspect.worker')).toBe(true);
    const link = backend.sessions.get('sh_inspect1')!.link.ssh;
    expect(JSON.stringify(published)).not.toContain(link);
    expect(formatInspect(session.at(-1)!)).toMatch(/sh_inspect1\s+\S+\s+→ /);
  });
});
