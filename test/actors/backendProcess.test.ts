import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import type { ShareBackendAdapter } from '../../src/adapters/backends/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { backendProcess } from '../../src/actors/backendProcess.ts';
import { shareWorker, type WorkerOutput } from '../../src/machines/shareWorker.ts';

/** An adapter that breaks its promise never to throw, as a `mkdir` racing an `rm` once did (ENOENT). */
const throwing: ShareBackendAdapter = {
  name: 'upterm',
  start: () => Promise.reject(Object.assign(new Error("ENOENT: no such file or directory, copyfile 'id_ed25519'"), { code: 'ENOENT' })),
};

function worker(backend: ShareBackendAdapter) {
  const terminals = new MemoryTerminals();
  terminals.terminals.add('tmux:a');
  const proc = backendProcess({ backends: { upterm: backend }, terminals, linkTimeoutMs: 500, heartbeatIntervalMs: 20, now: Date.now });
  return createActor(shareWorker.provide({ actors: { backend: proc } }), {
    input: { shareId: 'sh_t', terminal: 'tmux:a', backend: 'upterm', access: 'read-only', linkTimeoutMs: 2000, heartbeatTimeoutMs: 1000, stopTimeoutMs: 500 },
  });
}

describe('the backend actor', () => {
  it('an adapter that throws while starting fails the worker with the reason, and nothing is left unhandled', async () => {
    const faults: unknown[] = [];
    const on = (e: unknown) => faults.push(e);
    process.on('unhandledRejection', on);
    try {
      const w = worker(throwing).start();
      const out: WorkerOutput = await toPromise(w);
      expect(out).toMatchObject({ outcome: 'failed', code: 'backend_failed', message: expect.stringContaining('the upterm backend could not be started: ENOENT') });
      expect(faults).toEqual([]);
    } finally {
      process.off('unhandledRejection', on);
    }
  });

});
