import { describe, expect, it } from 'vitest';
import { renderPanel } from '../../src/panel/render.ts';

describe('the lane panel page', () => {
  it('escapes whatever it shows', () => {
    const html = renderPanel(
      [{ terminal: 'tmux:a', badge: '<img src=x onerror=alert(1)>', shares: [{ shareId: 'sh_<b>', backend: 'upterm', access: 'read-only', state: 'active', participants: 0 }] }],
      [],
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('sh_&lt;b&gt;');
  });
  it('says so when nothing is shared and nothing waits', () => {
    const html = renderPanel([], []);
    expect(html).toContain('No terminal is shared right now.');
    expect(html).toContain('None.');
  });
});
