import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { locateZellij } from '../../../../src/adapters/terminals/zellij/locate.ts';
import { zellijKey } from '../../../../src/adapters/terminals/zellij/panes.ts';
import { resolveZellij } from '../../../../src/adapters/terminals/zellij/sessions.ts';
import { MAX_WRITE, focusedPane, parseZellijViewArgs, writeArgs } from '../../../../src/adapters/terminals/zellij/zellijView.js';

const sessions = [{ id: '#11', name: 'work' }, { id: '#12', name: 'workbench' }, { id: '#13', name: 'demo' }];

describe('zellij references', () => {
  it('an exact live session name resolves to itself and its socket inode', () => {
    expect(resolveZellij('zellij:work', sessions)).toEqual({ ok: true, value: { canonical: 'zellij:work', id: '#11' } });
  });

  it('a unique prefix (which zellij attach and watch would complete) is refused naming the full name', () => {
    const r = resolveZellij('zellij:dem', sessions);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('use zellij:demo') });
  });

  it("the session's id (#inode) is refused naming the session", () => {
    const r = resolveZellij('zellij:#13', sessions);
    expect(!r.ok && r.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('use zellij:demo') });
  });

  it('an ambiguous prefix reaches nothing: terminal_not_found', () => {
    const r = resolveZellij('zellij:wor', sessions);
    expect(!r.ok && r.error.code).toBe('terminal_not_found');
  });

  it('a tmux reference is not a zellij terminal', () => {
    const r = resolveZellij('tmux:work', sessions);
    expect(!r.ok && r.error.code).toBe('terminal_not_found');
  });
});

describe('zellij input keys', () => {
  it.each([
    ['Enter', { name: 'Enter' }],
    ['Escape', { name: 'Esc' }],
    ['BSpace', { name: 'Backspace' }],
    ['C-c', { name: 'Ctrl c' }],
    ['M-x', { name: 'Alt x' }],
    ['F5', { name: 'F5' }],
    ['PageUp', { name: 'PageUp' }],
    ['C-[', { bytes: [0x1b] }],
  ])('termshare key %s is zellij %j', (key, expected) => {
    expect(zellijKey(key)).toEqual(expected);
  });

  it('a name outside termshare key set is refused', () => {
    expect(zellijKey('Ctrl c')).toBeUndefined();
    expect(zellijKey('C-Enter')).toBeUndefined();
  });
});

describe('zellij guest view', () => {
  it('writes the bytes to the named pane of the named session in bounded writes', () => {
    expect(writeArgs('work', 3, Buffer.from('ls\r'))).toEqual(['--session', 'work', 'action', 'write', '--pane-id', 'terminal_3', '--', '108', '115', '13']);
    expect(() => writeArgs('work', 3, Buffer.alloc(MAX_WRITE + 1))).toThrow();
  });

  it('types into the focused terminal pane of the active tab, never a plugin or a suppressed pane', () => {
    const pane = (id: number, o: Record<string, unknown> = {}) => ({ id, is_plugin: false, is_focused: false, is_floating: false, is_suppressed: false, tab_position: 0, ...o });
    const tabs = JSON.stringify([{ position: 0, active: false }, { position: 1, active: true }]);
    const panes = [pane(0, { is_plugin: true, is_focused: true, tab_position: 1 }), pane(1, { tab_position: 1 }), pane(2, { is_focused: true, tab_position: 1 }), pane(5, { is_focused: true })];
    expect(focusedPane(JSON.stringify(panes), tabs)).toBe(2);
    expect(focusedPane(JSON.stringify([pane(4, { is_suppressed: true, is_focused: true, tab_position: 1 }), pane(7, { tab_position: 1 })]), tabs)).toBe(7);
    expect(focusedPane('not json', tabs)).toBeUndefined();
  });

  it('needs a session, an access mode, a lease file and a notices dir', () => {
    expect(parseZellijViewArgs(['--session', 's', '--access', 'read-only'])).toMatch(/--lease/);
    expect(parseZellijViewArgs(['--session', 's', '--access', 'rw', '--lease', 'l', '--notices', 'n'])).toMatch(/--access/);
    expect(parseZellijViewArgs(['--zellij', '/z', '--session', 's', '--access', 'read-write', '--lease', 'l', '--notices', 'n'])).toEqual({
      zellij: '/z', session: 's', access: 'read-write', lease: 'l', notices: 'n',
    });
  });
});

describe('locating zellij', () => {
  it('TERMSHARE_ZELLIJ wins; a path that is not there is no zellij', () => {
    expect(locateZellij({ TERMSHARE_ZELLIJ: process.execPath, PATH: '' })).toBe(process.execPath);
    expect(locateZellij({ TERMSHARE_ZELLIJ: '/nonexistent/zellij', PATH: '' })).toBeUndefined();
  });

  it('without it: PATH, then the set-up cache under TERMSHARE_ZELLIJ_ROOT', () => {
    expect(locateZellij({ PATH: '/nonexistent', TERMSHARE_ZELLIJ_ROOT: '/nonexistent-root' })).toBeUndefined();
  });
});
