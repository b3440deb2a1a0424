import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
/** Each case starts node with tsx (seconds on a loaded two-core machine). */
const SPAWNS = 300_000;
/** One line logged by `createLogger` in a process of its own, as `serve` would log it; stderr is a pipe, not a terminal. */
const logOnce = (format: string) =>
  execa('node', ['--import', 'tsx', '-e', `import('./src/log.ts').then((m) => m.createLogger('info', ${format}).info({ correlationId: 'corr-1' }, 'hello'))`], { cwd: root, reject: false });

describe('log format and level settings', () => {
  it('logs JSON lines when stderr is not a terminal, and readable lines when asked for pretty', async () => {
    const plain = await execa('node', ['--import', 'tsx', '-e', `import('./src/log.ts').then((m) => m.createLogger('info').info({ correlationId: 'corr-1' }, 'hello'))`], { cwd: root });
    expect(JSON.parse(plain.stderr)).toMatchObject({ msg: 'hello', correlationId: 'corr-1', level: 30 });
    const pretty = await logOnce(`{ format: 'pretty' }`);
    expect(pretty.stderr).toMatch(/INFO.*hello/);
    expect(pretty.stderr).toContain('correlationId: "corr-1"');
    expect(() => JSON.parse(pretty.stderr)).toThrow();
  }, SPAWNS);

  it('refuses a log level or format it does not know, naming what it takes', () => {
    expect(() => loadConfig({ TERMSHARE_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadConfig({ TERMSHARE_LOG_LEVEL: 'verbose' })).toThrow('TERMSHARE_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")');
    expect(() => loadConfig({ TERMSHARE_LOG_FORMAT: 'xml' })).toThrow(/TERMSHARE_LOG_FORMAT: must be pretty or json \(got "xml"\)/);
    expect(loadConfig({ TERMSHARE_LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('`termshare serve` with a bad TERMSHARE_LOG_LEVEL says so in one line, without a stack trace, and exits 2', async () => {
    const r = await execa('node', [join(root, 'bin/termshare.js'), 'serve'], { env: { PATH: process.env.PATH, TERMSHARE_LOG_LEVEL: 'verbose' }, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(2);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line.startsWith('termshare: invalid configuration: TERMSHARE_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")')).toBe(true);
    expect(line).toMatch(/fix or unset the variable/);
  }, SPAWNS);
});
