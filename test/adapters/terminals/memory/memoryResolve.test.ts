import { MemoryTerminals } from '../../../../src/adapters/terminals/memory/memoryTerminals.ts';
import { terminalContract } from '../contract.ts';

const terminals = new MemoryTerminals();

terminalContract('in-memory twin', {
  adapter: terminals,
  create: async (session) => void terminals.terminals.add(`tmux:${session}`),
  rename: async (from, to) => terminals.rename(`tmux:${from}`, `tmux:${to}`),
  end: async (session) => void terminals.terminals.delete(`tmux:${session}`),
});
