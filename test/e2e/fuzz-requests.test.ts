import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { Verbs, type Verb } from '../../src/api/subjects.ts';
import type { TermshareClient } from '../../src/cli/client.ts';
import { OPERATOR, startHarness, type Harness } from '../support/harness.ts';
import { ErrorReply, rawRequest, shareCensus } from '../support/rawRequest.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const SEED = 0x7e57ab1e;

/** mulberry32: a small seeded generator, so every run sends the same bytes. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = ['\r', '\n', '\r\n', '\u0000', '\u0007', '\u001b[2J', '\u2028', '"', '\\', 'Nats-Service-Error-Code: 200'];
const enc = (s: string) => new TextEncoder().encode(s);

/**
 * Every payload a fuzz run sends to each verb; each is invalid, so each must be refused. `liveId`
 * is a share that must survive all of them, and `max` the server's max_payload.
 */
function payloads(verb: Verb, liveId: string, max: number, rnd: () => number): Array<[string, Uint8Array]> {
  const pick = () => NASTY[Math.floor(rnd() * NASTY.length)]!;
  const junk = (n: number) => Array.from({ length: n }, () => (rnd() < 0.5 ? pick() : String.fromCharCode(32 + Math.floor(rnd() * 95)))).join('');
  const crlfId = { kind: 'human', id: `alice${pick()}${junk(8)}` };
  const deep = 100_000;
  const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x3a, 0xed, 0xa0, 0x80, 0x7d]);
  const room = max - 8 * 1024; // the server adds its request-info header on the way
  return [
    ['CR/LF and NUL as the whole body', enc(`\r\n\u0000${junk(16)}`)],
    ['invalid JSON starting with CR/LF', enc(`{\r\n${junk(32)}`)],
    ['invalid UTF-8', invalidUtf8],
    ['an unknown field whose name holds CR/LF/NUL', enc(JSON.stringify({ shareId: liveId, [`f${pick()}${junk(6)}`]: junk(10) }))],
    ['the live share with a requester holding CR/LF', enc(JSON.stringify({ shareId: liveId, requester: crlfId, [verb === 'approval.decide' ? 'approver' : 'x']: crlfId }))],
    ['ids holding CR/LF', enc(JSON.stringify({ shareId: `sh_${junk(8)}`, handoffId: `ho_${pick()}`, approvalId: `ap_\r\n${junk(4)}`, terminal: `tmux:${pick()}x` }))],
    ['a huge body near max_payload', enc(JSON.stringify({ [`pad${pick()}`]: 'a'.repeat(room) }))],
    ['a huge unknown field name', enc(JSON.stringify({ [`\r\n${'k'.repeat(room)}`]: 1 }))],
    ['deeply nested arrays', enc(`{"terminal":${'['.repeat(deep)}${']'.repeat(deep)}}`)],
    ['deeply nested objects', enc(`${'{"a":'.repeat(deep)}1${'}'.repeat(deep)}`)],
    ['a body over max_payload is refused by NATS itself, not sent', enc('x'.repeat(max + 1))],
  ];
}

describe.skipIf(missing.length > 0)('fuzzing every request subject (seeded, bounded)', () => {
  let h: Harness;
  let live: Share;
  let mallory: TermshareClient;
  beforeAll(async () => {
    h = await startHarness();
    mallory = await h.as('human:mallory');
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal('fuzz'), backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    live = r.value.share;
  });
  afterAll(async () => h?.stop());

  it.each(Object.values(Verbs))('%s: every malformed payload is refused with a contract error, and the service answers after each with nothing changed', async (verb) => {
    const rnd = prng(SEED ^ verb.length ^ verb.charCodeAt(0));
    const max = h.client.nc.info!.max_payload;
    const before = await shareCensus(h.client);
    for (const [name, payload] of payloads(verb, live.id, max, rnd)) {
      const sender = rnd() < 0.5 ? h.client : mallory;
      if (payload.byteLength > max) {
        await expect(rawRequest(sender, verb, payload), name).rejects.toThrow(/max_payload/);
        continue;
      }
      const r = await rawRequest(sender, verb, payload);
      expect(r.status, `${verb} ${name}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(r.header, name).not.toMatch(/[\r\n]/);
      const body = ErrorReply.parse(r.body);
      expect(body.error.message.length, name).toBeLessThanOrEqual(2000);
      const after = await shareCensus(h.client);
      expect(after.map((s) => [s.id, s.state]), `${verb} ${name}`).toEqual(before.map((s) => [s.id, s.state]));
    }
    expect((await shareCensus(h.client)).find((s) => s.id === live.id)?.state).toBe('active');
  });
});
