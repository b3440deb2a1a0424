import { describe, expect, it } from 'vitest';
import { MemoryTerminals } from '../../../../src/adapters/terminals/memory/memoryTerminals.ts';
import { REDACTED } from '../../../../src/adapters/terminals/redact.ts';

describe('MemoryTerminals as TerminalControl', () => {
  const setup = () => {
    const t = new MemoryTerminals();
    t.terminals.add('tmux:work');
    return t;
  };

  it('answers scripted context (redacted) and screen; nothing for an unknown terminal', async () => {
    const t = setup();
    t.contexts.set('tmux:work', { cwd: '/src', env: { GITHUB_TOKEN: 'ghp_x', HOME: '/h' }, command: 'vim', scrollback: ['a'], size: { cols: 80, rows: 24 } });
    t.screens.set('tmux:work', { lines: ['$ '], cursor: { x: 2, y: 0 } });
    expect(await t.context('tmux:work')).toMatchObject({ cwd: '/src', env: { GITHUB_TOKEN: REDACTED, HOME: '/h' }, command: 'vim' });
    expect(await t.screen('tmux:work')).toEqual({ lines: ['$ '], cursor: { x: 2, y: 0 } });
    expect(await t.context('tmux:other')).toBeUndefined();
    expect(await t.screen('tmux:other')).toBeUndefined();
  });

  it('records accepted input; refuses invalid keys, unknown terminals and a scripted refusal', async () => {
    const t = setup();
    expect(await t.sendInput('tmux:work', { text: 'ls', keys: ['Enter'] })).toBe(true);
    expect(await t.sendInput('tmux:work', { text: 'rm', keys: ['Enter', 'bogus'] })).toBe(false);
    expect(await t.sendInput('tmux:other', { text: 'ls' })).toBe(false);
    t.refuseInput = true;
    expect(await t.sendInput('tmux:work', { keys: ['C-c'] })).toBe(false);
    expect(t.inputs).toEqual([{ terminal: 'tmux:work', text: 'ls', keys: ['Enter'] }]);
  });

  it('locks the writable clients, unlocks those given back, and broadcasts', async () => {
    const t = setup();
    t.join('sh_1', 'viewer');
    t.joinWritable('sh_1', 'typist');
    t.joinWritable('sh_1', 'owner', 'host');
    const locked = await t.lockClients('tmux:work');
    expect(locked).toEqual(['typist', 'owner']);
    expect([...t.locked]).toEqual(['typist', 'owner']);
    expect(t.attached.every((c) => c.readOnly)).toBe(true);
    await t.unlockClients('tmux:work', locked);
    expect(t.attached.map((c) => [c.id, c.readOnly])).toEqual([['viewer', true], ['typist', false], ['owner', false]]);
    expect(t.locked.size).toBe(0);
    await t.notifyAll('tmux:work', 'agent typing');
    expect(t.broadcasts).toEqual([{ terminal: 'tmux:work', text: 'agent typing' }]);
  });
});
