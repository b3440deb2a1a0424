import { describe, expect, it } from 'vitest';
import { checkChain, describeBreak, parseJsonl, stretchOf, toJsonl } from '../../../../src/adapters/audit/jetstream/auditReader.ts';
import { GENESIS, chainRecord } from '../../../../src/adapters/audit/jetstream/hashChain.ts';
import type { AuditRecord } from '../../../../src/api/schemas.ts';
import { formatTimeline } from '../../../../src/cli/auditCommands.ts';

/** Two shares interleaved in one chain, each step caused by the one before it in the same share. */
function chain(): AuditRecord[] {
  const steps: [string, string, string][] = [
    ['a', 'start', 'active'],
    ['b', 'start', 'active'],
    ['a', 'participant.join', 'joined'],
    ['a', 'extend', 'extended'],
    ['b', 'stop', 'stopped'],
    ['a', 'revoke', 'revoked'],
  ];
  const out: AuditRecord[] = [];
  const last: Record<string, string> = {};
  let prev = GENESIS;
  steps.forEach(([share, action, outcome], i) => {
    const eventId = `${share}${i}-0000-0000-0000-000000000000`;
    const r = chainRecord(
      { eventId, at: `2026-01-01T00:00:0${i}.000Z`, action, actor: 'human:alice', correlationId: `corr-${share}`, ...(last[share] ? { causationId: last[share] } : {}), shareId: share, terminal: 'tmux:t', outcome, data: { n: i } },
      prev,
    );
    last[share] = eventId;
    prev = r.hash;
    out.push(r);
  });
  return out;
}

describe('audit reader: verify, stretch, JSONL', () => {
  it('an intact chain verifies from genesis', () => {
    expect(checkChain(chain())).toEqual({ ok: true, count: 6, fromGenesis: true, checkpoint: 'none' });
  });

  it('a modified record is named as modified', () => {
    const c = chain();
    c[3] = { ...c[3]!, outcome: 'forged' };
    const r = checkChain(c);
    expect(r).toMatchObject({ ok: false, index: 3, reason: 'modified' });
    if (!r.ok) expect(describeBreak(r)).toMatch(/record 4 of 6: eventId a3-.*extend \(forged\).*modified/);
  });

  it('a removed record is named by the record after it, as a broken link', () => {
    const c = chain();
    c.splice(2, 1);
    const r = checkChain(c);
    expect(r).toMatchObject({ ok: false, index: 2, reason: 'link', record: { action: 'extend' } });
    if (!r.ok) expect(describeBreak(r)).toMatch(/removed/);
  });

  it('a removed first record breaks a chain that must start at genesis', () => {
    const c = chain().slice(1);
    expect(checkChain(c, { start: GENESIS })).toMatchObject({ ok: false, index: 0, reason: 'link' });
    // Read as a stretch, it verifies and says it does not start at genesis.
    expect(checkChain(c)).toMatchObject({ ok: true, fromGenesis: false });
  });

  it("the stretch of one share runs from its first record to its last and verifies on its own", () => {
    const s = stretchOf(chain(), { shareId: 'b' });
    expect(s.map((r) => `${r.shareId}:${r.action}`)).toEqual(['b:start', 'a:participant.join', 'a:extend', 'b:stop']);
    expect(checkChain(s)).toMatchObject({ ok: true, fromGenesis: false });
    expect(stretchOf(chain(), { correlationId: 'nope' })).toEqual([]);
  });

  it('JSONL round-trips; a line that is not JSON is named', () => {
    const c = chain();
    expect(parseJsonl(toJsonl(c))).toEqual(c);
    expect(() => parseJsonl(toJsonl(c.slice(0, 2)) + '{"eventId": \n')).toThrow(/line 3/);
  });

  it('the timeline shows time, action, outcome, actor, short ids and the causation link', () => {
    const text = formatTimeline(chain().filter((r) => r.shareId === 'a'));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^share a\s+terminal tmux:t\s+correlation corr-a\s+4 record\(s\)/);
    expect(lines[1]).toMatch(/^TIME\s+ACTION\s+OUTCOME\s+ACTOR\s+EVENT\s+CAUSED BY\s+DATA$/);
    expect(lines[2]).toMatch(/^2026-01-01T00:00:00.000Z\s+start\s+active\s+human:alice\s+a0-0000-\s+n=0$/);
    expect(lines[3]).toMatch(/participant\.join\s+joined\s+human:alice\s+a2-0000-\s+← a0-0000-\s+n=2$/);
    expect(formatTimeline([])).toBe('no audit records');
  });
});
