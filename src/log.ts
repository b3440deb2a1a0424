import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info'): Logger {
  // Logs go to stderr: stdout carries the `termshare ready` line and CLI output.
  return pino({ level, base: { svc: 'termshare' } }, pino.destination(2));
}

/** A share link is a secret: only this digest may reach a log line or an audit record. */
export function linkHash(link: string): string {
  return 'sha256:' + createHash('sha256').update(link).digest('hex').slice(0, 32);
}
