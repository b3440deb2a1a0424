import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signerOf, type AuditSigner } from '../../../../src/adapters/audit/jetstream/auditKey.ts';
import { checkChain, describeBreak, type ChainCheck } from '../../../../src/adapters/audit/jetstream/chainCheck.ts';
import { makeCheckpoint, type Checkpoint } from '../../../../src/adapters/audit/jetstream/checkpoint.ts';
import { GENESIS, chainRecord, signRecord } from '../../../../src/adapters/audit/jetstream/hashChain.ts';
import type { AuditRecord } from '../../../../src/api/schemas.ts';

const newSigner = (): AuditSigner => {
  const s = signerOf(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  if (!s.ok) throw new Error(s.error);
  return s.value;
};
const service = newSigner();
const mallory = newSigner();

const body = (i: number, outcome = 'ok') => ({ eventId: `e${i}-0000`, at: `2026-01-01T00:00:0${i}.000Z`, action: 'start', actor: 'human:a', correlationId: 'c', shareId: 's', outcome, data: { n: i } });

/** A chain as the service writes it: each record linked to the one before and signed. */
function signedChain(n: number, signer = service): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) out.push(signRecord(chainRecord(body(i), out.at(-1)?.hash ?? GENESIS), signer));
  return out;
}
const checkpointOf = (r: AuditRecord, seq?: number): Checkpoint => makeCheckpoint({ eventId: r.eventId, hash: r.hash, ...(seq ? { seq } : {}) }, service);
/** What someone without the key can do: recompute every hash from `from` on, keeping the signature fields as they were. */
function rehash(records: AuditRecord[], from: number): AuditRecord[] {
  const out = records.slice(0, from);
  for (const r of records.slice(from)) out.push({ ...chainRecord(r, out.at(-1)?.hash ?? GENESIS), keyId: r.keyId!, sig: r.sig! });
  return out;
}
const broken = (c: ChainCheck) => {
  if (c.ok) throw new Error('expected a broken chain');
  return { ...c, message: describeBreak(c) };
};

describe('signed audit chain', () => {
  it('a chain the service signed verifies against its key and a checkpoint of its last record', () => {
    const c = signedChain(5);
    expect(checkChain(c, { key: service, checkpoint: checkpointOf(c[4]!, 5) })).toEqual({ ok: true, count: 5, fromGenesis: true, keyId: service.keyId, checkpoint: 'matched' });
    // Records written after the checkpoint was made are fine: it is debounced.
    expect(checkChain(c, { key: service, checkpoint: checkpointOf(c[2]!) })).toMatchObject({ ok: true, checkpoint: 'matched' });
  });

  it('signing leaves the hash as it was: a signed record links and hashes like an unsigned one', () => {
    const plain = chainRecord(body(0), GENESIS);
    const signed = signRecord(plain, service);
    expect(signed.hash).toBe(plain.hash);
    expect(signed.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(signed.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    // Signing again (a resent record) changes nothing in the chain.
    expect(chainRecord(signed, GENESIS).hash).toBe(plain.hash);
  });

  it('a modified record whose chain is re-hashed without the key fails on its signature', () => {
    const c = signedChain(5);
    c[2] = { ...c[2]!, outcome: 'forged' };
    const forged = rehash(c, 2);
    // The hash chain alone holds: this is what an unkeyed chain could not tell.
    expect(checkChain(forged).ok).toBe(true);
    const r = broken(checkChain(forged, { key: service }));
    expect(r).toMatchObject({ reason: 'bad-signature', index: 2 });
    expect(r.message).toMatch(/record 3 of 5: eventId e2-0000, start \(forged\).*signature does not match its hash/);
  });

  it('a forged record appended to the chain fails, whether unsigned, with a copied signature or signed by another key', () => {
    const c = signedChain(3);
    const last = c.at(-1)!;
    const appended = chainRecord(body(3, 'forged'), last.hash);
    expect(broken(checkChain([...c, appended], { key: service }))).toMatchObject({ reason: 'unsigned', index: 3 });
    expect(broken(checkChain([...c, { ...appended, keyId: last.keyId!, sig: last.sig! }], { key: service }))).toMatchObject({ reason: 'bad-signature', index: 3 });
    const other = broken(checkChain([...c, signRecord(appended, mallory)], { key: service }));
    expect(other).toMatchObject({ reason: 'other-key', index: 3 });
    expect(other.message).toContain(`signed by ${mallory.keyId}, not by ${service.keyId}`);
    // A key id relabelled to the service's does not help.
    expect(broken(checkChain([...c, { ...signRecord(appended, mallory), keyId: service.keyId }], { key: service }))).toMatchObject({ reason: 'bad-signature' });
  });

  it('an unsigned legacy record is reported by name', () => {
    const legacy = chainRecord(body(0), GENESIS);
    const c = [legacy, signRecord(chainRecord(body(1), legacy.hash), service)];
    const r = broken(checkChain(c, { key: service }));
    expect(r).toMatchObject({ reason: 'unsigned', index: 0 });
    expect(r.message).toMatch(/record 1 of 2: eventId e0-0000.*carries no signature/);
  });

  it('a chain whose last records were cut fails against the checkpoint; an empty one too', () => {
    const c = signedChain(6);
    const cp = checkpointOf(c[5]!, 6);
    const r = broken(checkChain(c.slice(0, 4), { key: service, checkpoint: cp, start: GENESIS }));
    expect(r).toMatchObject({ reason: 'truncated', count: 4 });
    expect(r.index).toBeUndefined();
    expect(r.message).toMatch(/^chain truncated: the checkpoint's record \(eventId e5-0000, seq 6, checkpointed at .*\) is not in the chain of 4 record\(s\): records after its last one were removed/);
    expect(broken(checkChain([], { key: service, checkpoint: cp, start: GENESIS })).message).toMatch(/is not in the chain, which is empty/);
    // Without a checkpoint, the cut chain verifies: this is what the checkpoint is for.
    expect(checkChain(c.slice(0, 4), { key: service }).ok).toBe(true);
  });

  it("a chain holding a different record under the checkpoint's event id fails", () => {
    const c = signedChain(4);
    const cp = checkpointOf(c[3]!);
    const replaced = signedChain(4).map((r, i) => (i === 3 ? signRecord(chainRecord(body(3, 'other'), c[2]!.hash), service) : r));
    expect(broken(checkChain(replaced, { key: service, checkpoint: cp }))).toMatchObject({ reason: 'checkpoint-mismatch', index: 3 });
    // A checkpoint that places its record elsewhere in the chain than it is.
    const misplaced = makeCheckpoint({ eventId: c[3]!.eventId, hash: c[3]!.hash, count: 2 }, service);
    expect(broken(checkChain(c, { key: service, checkpoint: misplaced }))).toMatchObject({ reason: 'checkpoint-mismatch', index: 3 });
    expect(checkChain(c, { key: service, checkpoint: { ...misplaced, count: undefined } })).toMatchObject({ ok: false, reason: 'bad-checkpoint' });
  });

  it('a checkpoint that was altered, or signed by another key, is not trusted', () => {
    const c = signedChain(4);
    const cp = checkpointOf(c[3]!);
    // Moved back to an earlier record, to hide a cut tail.
    const moved = broken(checkChain(c.slice(0, 2), { key: service, checkpoint: { ...cp, eventId: c[1]!.eventId, hash: c[1]!.hash } }));
    expect(moved).toMatchObject({ reason: 'bad-checkpoint' });
    expect(moved.message).toMatch(/checkpoint cannot be trusted: its signature does not match/);
    const foreign = makeCheckpoint({ eventId: c[1]!.eventId, hash: c[1]!.hash }, mallory);
    expect(broken(checkChain(c.slice(0, 2), { key: service, checkpoint: foreign })).message).toContain(`signed by key ${mallory.keyId}`);
  });

  it("a stretch that ends before the checkpoint's record verifies, saying its tail is not checked", () => {
    const c = signedChain(6);
    expect(checkChain(c.slice(1, 4), { key: service, checkpoint: checkpointOf(c[5]!) })).toMatchObject({ ok: true, fromGenesis: false, checkpoint: 'after-stretch' });
    expect(checkChain(c.slice(1), { key: service, checkpoint: checkpointOf(c[5]!) })).toMatchObject({ ok: true, fromGenesis: false, checkpoint: 'matched' });
  });
});
