import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('TERMSHARE_PARTITION_TIMEOUT', () => {
  const env = { TERMSHARE_STATE_DIR: '/tmp/ts-config' };
  it('defaults to 30 s', () => expect(loadConfig(env).partitionTimeoutMs).toBe(30_000));
  it('is read in seconds, and 0 turns it off', () => {
    expect(loadConfig({ ...env, TERMSHARE_PARTITION_TIMEOUT: '5' }).partitionTimeoutMs).toBe(5_000);
    expect(loadConfig({ ...env, TERMSHARE_PARTITION_TIMEOUT: '0' }).partitionTimeoutMs).toBe(0);
  });
  it('refuses what is not whole seconds, naming the variable', () => {
    expect(() => loadConfig({ ...env, TERMSHARE_PARTITION_TIMEOUT: 'soon' })).toThrow(/TERMSHARE_PARTITION_TIMEOUT must be a number of seconds/);
    expect(() => loadConfig({ ...env, TERMSHARE_PARTITION_TIMEOUT: '1.5' })).toThrow(/TERMSHARE_PARTITION_TIMEOUT must be whole seconds/);
  });
});
