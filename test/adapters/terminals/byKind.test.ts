import { describe, expect, it } from 'vitest';
import { TerminalsByKind } from '../../../src/adapters/terminals/byKind.ts';
import { MemoryTerminals } from '../../../src/adapters/terminals/memory/memoryTerminals.ts';

describe('terminals by kind', () => {
  it('sends each reference to the adapter of its kind', async () => {
    const tmux = new MemoryTerminals();
    tmux.terminals.add('tmux:work');
    const t = new TerminalsByKind({ tmux });
    expect(await t.exists('tmux:work')).toBe(true);
    expect(await t.resolve('tmux:work')).toMatchObject({ ok: true, value: { canonical: 'tmux:work' } });
    expect(await t.sendInput('tmux:work', { text: 'ls' })).toBe(true);
    expect(tmux.inputs).toEqual([{ terminal: 'tmux:work', text: 'ls', keys: [] }]);
  });

  it('a kind with no adapter does not exist, and resolving it says why', async () => {
    const t = new TerminalsByKind({ tmux: new MemoryTerminals() }, { zellij: 'zellij is not installed here (bash scripts/install-zellij.sh)' });
    expect(await t.exists('zellij:work')).toBe(false);
    expect(await t.context('zellij:work')).toBeUndefined();
    expect(await t.sendInput('zellij:work', { text: 'x' })).toBe(false);
    const r = await t.resolve('zellij:work');
    expect(r).toMatchObject({ ok: false, error: { code: 'terminal_not_found', message: expect.stringContaining('bash scripts/install-zellij.sh') } });
  });
});
