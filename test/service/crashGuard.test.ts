import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/** A process of its own: the guard is for `termshare serve`, and vitest watches these events itself. */
const script = `
import { installCrashGuard } from './src/service/crashGuard.ts';
import { createLogger } from './src/log.ts';
const guard = installCrashGuard(createLogger('error'));
void Promise.reject(new Error('a rejection nobody handled'));
setTimeout(() => { throw new Error('a throw in a timer'); }, 10);
setTimeout(() => { console.log('still serving after ' + guard.faults() + ' faults'); }, 100);
`;

describe('the crash guard of termshare serve', () => {
  it('logs an unhandled rejection and an uncaught exception, and the process keeps running', async () => {
    const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), reject: false, timeout: 15_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('still serving after 2 faults');
    expect(r.stderr).toMatch(/"fault":"unhandledRejection".*a rejection nobody handled/);
    expect(r.stderr).toMatch(/"fault":"uncaughtException".*a throw in a timer/);
  });
});
