import { execa } from 'execa';
import { termshareBin } from './serveProcess.ts';

export type CliRun = { exitCode: number; stdout: string; stderr: string };

/** `termshare <args>` as a user runs it: its own process, the given environment, no terminal. */
export async function termshare(args: string[], env: Record<string, string | undefined> = {}, opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  const r = await execa('node', [termshareBin, ...args], { env: { ...process.env, ...env }, reject: false, stdin: 'ignore', timeout: opts.timeoutMs ?? 90_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The error object a `--json` failure prints on stdout. */
export function jsonError(r: CliRun): { code: string; message: string; exitCode: number } {
  return (JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } }).error;
}

/** A user mistake is answered in one line saying why: never a Node stack trace. */
export function noStackTrace(r: CliRun): boolean {
  return !/^\s+at .+[:(]/m.test(r.stderr + r.stdout) && !/node:internal|\.ts:\d+:\d+/.test(r.stderr + r.stdout);
}
