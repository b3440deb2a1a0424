import { headers } from '@nats-io/nats-core';
import type { ServiceMsg } from '@nats-io/services';
import { describe, expect, it } from 'vitest';
import { TermshareError, err, ok } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { HEADER_VALUE_MAX, MESSAGE_MAX, errorReply, headerSafe, replyTo } from '../../src/service/reply.ts';

const log = createLogger('silent');
const nasty = 'a\r\nNats-Service-Error-Code: 200\r\n\r\nb\u0000c\u007fd\u2028e';

/** A reply seam that records what would go out, and can fail like the NATS client does. */
function fakeMsg(fail: (kind: 'respond' | 'error', n: number) => boolean = () => false) {
  const sent: Array<{ kind: string; status?: number; header?: string; body: string }> = [];
  let n = 0;
  const msg = {
    respond: (data: string) => {
      if (fail('respond', n++)) throw new Error('max_payload size exceeded');
      sent.push({ kind: 'respond', body: data });
      return true;
    },
    respondError: (status: number, header: string, body: string) => {
      if (fail('error', n++)) throw new Error('header values cannot contain \\r or \\n');
      headers().set('Nats-Service-Error', header); // what the NATS client does with it
      sent.push({ kind: 'error', status, header, body });
      return true;
    },
  } as unknown as ServiceMsg;
  return { msg, sent };
}

describe('header values the service sets', () => {
  it('never carry CR, LF or other control characters, so the NATS client accepts them', () => {
    const v = headerSafe(nasty);
    expect(v).not.toMatch(/[\u0000-\u001f\u007f\u2028]/);
    expect(v).toContain('a\\r\\nNats-Service-Error-Code');
    expect(() => headers().set('Nats-Service-Error', v)).not.toThrow();
  });
  it('are cut to a bounded length', () => {
    expect(headerSafe('x'.repeat(100_000)).length).toBeLessThanOrEqual(HEADER_VALUE_MAX);
  });
});

describe('an error reply', () => {
  it('keeps the message readable and bounded, and drops details that echo a huge input', () => {
    const r = errorReply(new TermshareError('invalid_request', 'm'.repeat(50_000), { issues: ['k'.repeat(500_000)] }));
    const body = JSON.parse(r.body) as { error: { code: string; message: string; details?: unknown } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message.length).toBeLessThanOrEqual(MESSAGE_MAX);
    expect(body.error.details).toBeUndefined();
    expect(r.status).toBe(400);
  });
});

describe('replyTo', () => {
  it('answers a refusal whose message holds CR/LF with a clean error header', () => {
    const { msg, sent } = fakeMsg();
    expect(replyTo(msg, 'share.start', err(new TermshareError('unauthorized', nasty)), log)).toBe(true);
    expect(sent[0]).toMatchObject({ kind: 'error', status: 401 });
    expect(JSON.parse(sent[0]!.body).error.message).toBe(nasty);
  });
  it('turns a reply the client cannot send into an internal error reply', () => {
    const { msg, sent } = fakeMsg((kind) => kind === 'respond');
    expect(replyTo(msg, 'share.list', ok({ shares: [] }), log)).toBe(true);
    expect(sent).toEqual([expect.objectContaining({ kind: 'error', status: 500 })]);
    expect(JSON.parse(sent[0]!.body).error).toMatchObject({ code: 'internal', message: expect.stringMatching(/could not be sent/) });
  });
  it('never throws, even when no reply at all can go out', () => {
    const { msg, sent } = fakeMsg(() => true);
    expect(replyTo(msg, 'share.list', ok({}), log)).toBe(false);
    expect(sent).toEqual([]);
  });
});
