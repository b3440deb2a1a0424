import { createHash } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { LogFormat } from './config.ts';
import { requestFields } from './requestScope.ts';

export type { Logger, LogFormat };

/** Loaded only when a person reads the logs: a CLI call or a JSON log does not pay for it. */
const prettyStream = (colorize: boolean): DestinationStream =>
  (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty'))({
    destination: 2,
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,svc',
  });

/**
 * Logs go to stderr (stdout carries the `termshare ready` line and CLI output): readable lines for
 * a person at a terminal, JSON lines otherwise (`TERMSHARE_LOG_FORMAT` decides when given). Every
 * line logged while a request is handled carries its verb, correlation id, requester and terminal.
 */
export function createLogger(level = 'info', opts: { format?: LogFormat; destination?: DestinationStream } = {}): Logger {
  const options = { level, base: { svc: 'termshare' }, mixin: requestFields };
  if (opts.destination) return pino(options, opts.destination);
  const format = opts.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format === 'json') return pino(options, pino.destination(2));
  return pino(options, prettyStream(Boolean(process.stderr.isTTY)));
}

/** A share link is a secret: only this digest may reach a log line or an audit record. */
export function linkHash(link: string): string {
  return 'sha256:' + createHash('sha256').update(link).digest('hex').slice(0, 32);
}
