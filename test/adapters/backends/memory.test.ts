import { MemoryBackend } from '../../../src/adapters/backends/memory/memoryBackend.ts';
import type { MemorySession } from '../../../src/adapters/backends/memory/memoryBackend.ts';
import { backendContract } from './contract.ts';

const made: MemoryBackend[] = [];
const make = (mode: MemoryBackend['mode']) => async () => {
  const b = Object.assign(new MemoryBackend(), { mode });
  made.push(b);
  return b;
};

backendContract('in-memory twin', {
  working: make('ok'),
  unreachable: make('unreachable'),
  silent: make('silent'),
  crash: (s) => (s as MemorySession).crash(),
  leftovers: () => made.reduce((n, b) => n + b.live().length, 0),
  spec: (o) => ({ shareId: 'sh_contract1', terminal: 'tmux:t', access: 'read-only', attach: { argv: ['true'], env: {} }, linkTimeoutMs: 2000, ...o }),
});
