import { describe, expect, it } from 'vitest';
import { GENESIS, chainRecord, verifyChain } from '../../../../src/adapters/audit/jetstream/hashChain.ts';
import type { AuditRecord } from '../../../../src/api/schemas.ts';

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = GENESIS;
  for (let i = 0; i < n; i++) {
    const r = chainRecord({ eventId: `e${i}`, at: `2026-01-01T00:00:0${i}Z`, action: 'start', actor: 'human:a', correlationId: 'c', outcome: 'ok' }, prev);
    out.push(r);
    prev = r.hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('an untouched chain verifies', () => {
    expect(verifyChain(chain(4))).toBe(-1);
  });
  it('a modified record is named', () => {
    const c = chain(4);
    c[2] = { ...c[2]!, outcome: 'forged' };
    expect(verifyChain(c)).toBe(2);
  });
  it('a removed record breaks the link of the next one', () => {
    const c = chain(4);
    c.splice(1, 1);
    expect(verifyChain(c)).toBe(1);
  });
  it('key order does not change the hash', () => {
    const a = chainRecord({ eventId: 'e', at: 't', action: 'stop', actor: 'x', correlationId: 'c', outcome: 'o', data: { b: 1, a: 2 } }, GENESIS);
    const b = chainRecord({ outcome: 'o', correlationId: 'c', actor: 'x', action: 'stop', at: 't', eventId: 'e', data: { a: 2, b: 1 } }, GENESIS);
    expect(a.hash).toBe(b.hash);
  });
});
