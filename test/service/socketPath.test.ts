import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_SOCKET_PATH, checkSocketPath } from '../../src/adapters/backends/upterm/upterm.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService } from '../../src/service/service.ts';

/** A state dir so long that upterm's admin socket path passes 107 bytes. */
const longDir = join('/tmp', 'termshare-long-state-dir-'.padEnd(60, 'x'));

describe('the admin socket path guard', () => {
  it('passes a usual state dir and refuses one whose socket path would be too long, naming the path and the fix', () => {
    expect(checkSocketPath('/root/.local/state/termshare/workers').ok).toBe(true);
    const r = checkSocketPath(join(longDir, 'workers'), 'sh_abcdefghijkl');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('backend_unavailable');
    expect(r.error.message).toContain(join(longDir, 'workers', 'sh_abcdefghijkl', 'run', 'upterm'));
    expect(r.error.message).toContain(`past the ${MAX_SOCKET_PATH} bytes`);
    expect(r.error.message).toMatch(/Set TERMSHARE_STATE_DIR to a directory at least \d+ bytes shorter/);
  });

  it('`serve` refuses to start with such a state dir, before starting anything', async () => {
    const config = loadConfig({ ...process.env, TERMSHARE_STATE_DIR: longDir, TERMSHARE_NATS_URL: 'nats://127.0.0.1:1' });
    await expect(startService(config, createLogger('silent'))).rejects.toThrow(/upterm's admin socket would be .* Set TERMSHARE_STATE_DIR/);
  });
});
