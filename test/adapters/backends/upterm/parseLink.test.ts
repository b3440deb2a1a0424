import { describe, expect, it } from 'vitest';
import { parseUptermLink } from '../../../../src/adapters/backends/upterm/parseLink.ts';

describe('upterm link parsing', () => {
  it('reads the ssh command after the SSH: line, colours and indentation removed', () => {
    const out = ['Session: abc', '\x1b[1m➤ SSH:\x1b[0m', '    ssh abc:MTI3LjAuMC4xOjIyMjI=@127.0.0.1 -p 2222', '➤ SFTP:'];
    expect(parseUptermLink(out)).toBe('ssh abc:MTI3LjAuMC4xOjIyMjI=@127.0.0.1 -p 2222');
  });
  it('accepts a link without a port (port 22)', () => {
    expect(parseUptermLink(['SSH:', '  ssh id@uptermd.example'])).toBe('ssh id@uptermd.example');
  });
  it('finds nothing before the SSH: line has come', () => {
    expect(parseUptermLink(['Session: abc', 'ssh not-yet@host'])).toBeUndefined();
  });
});
