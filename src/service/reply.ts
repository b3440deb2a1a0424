import type { ServiceMsg } from '@nats-io/services';
import { ErrorStatus, TermshareError, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import { truncate } from '../api/quote.ts';

export { quote, truncate } from '../api/quote.ts';

/** Longest `Nats-Service-Error` header value; the full message is in the body. */
export const HEADER_VALUE_MAX = 512;
/** Longest error message in a reply body: a message quoting input never grows with it. */
export const MESSAGE_MAX = 2000;
/** A reply body above this drops its error `details` (they echo the input); the message stays. */
const DETAILS_MAX = 16_384;

const ESCAPES: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' };
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A string that can travel as a NATS header value: no CR, LF or other control character (each
 * shown as its escape, `\r`, `\n`, `\u0000`), at most `max` characters. The NATS client throws on
 * a CR or LF in a header value; every header the service sets goes through here.
 */
export function headerSafe(value: string, max = HEADER_VALUE_MAX): string {
  const escaped = value.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return truncate(escaped, max).trim();
}

/** The error body and headers of a refusal, bounded whatever the message or details hold. */
export function errorReply(e: TermshareError): { status: number; header: string; body: string } {
  const bounded = new TermshareError(e.code, truncate(e.message, MESSAGE_MAX), e.details);
  let body = JSON.stringify(bounded.toBody());
  if (body.length > DETAILS_MAX) body = JSON.stringify(new TermshareError(e.code, bounded.message).toBody());
  return { status: ErrorStatus[e.code], header: headerSafe(bounded.message), body };
}

/**
 * Answers a request with `result`, and never throws: a reply the client cannot send (too large for
 * the server's max_payload, a closed connection) becomes an `internal` error reply, and when even
 * that cannot go, it is logged. Returns whether a reply went out.
 */
export function replyTo(msg: ServiceMsg, verb: string, result: Result<unknown>, log: Logger): boolean {
  const attempts: Array<() => boolean> = [];
  if (result.ok) attempts.push(() => msg.respond(JSON.stringify(result.value)));
  else {
    const error = result.error;
    attempts.push(() => {
      const r = errorReply(error);
      return msg.respondError(r.status, r.header, r.body);
    });
  }
  attempts.push(() => {
    const r = errorReply(new TermshareError('internal', `${verb}: the reply could not be sent (too large for the server's max_payload, or the connection failed); ask for less (a narrower list, a smaller limit) or try again`));
    return msg.respondError(r.status, r.header, r.body);
  });
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (e) {
      log.error({ verb, err: (e as Error).message }, 'reply not sent');
    }
  }
  return false;
}
