import type { AuditRecord } from '../../../api/schemas.ts';
import type { AuditPublicKey } from './auditKey.ts';
import { checkpointProblem, type Checkpoint } from './checkpoint.ts';
import { GENESIS, chainRecord, signatureProblem } from './hashChain.ts';

export type ChainOptions = {
  /** The hash the first record must link to; default: genesis, or the first record's prevHash for a stretch. */
  start?: string;
  /** When given, every record must carry this key's signature over its hash. */
  key?: AuditPublicKey;
  /** When given, the chain must hold its record (unless the chain is a stretch that ends before it). */
  checkpoint?: Checkpoint;
};

export type BreakReason = 'modified' | 'link' | 'unsigned' | 'other-key' | 'bad-signature' | 'checkpoint-mismatch' | 'truncated' | 'bad-checkpoint';

/** `matched`: the checkpoint's record is in the chain; `after-stretch`: a stretch that may end before it, so its tail is not checked. */
export type CheckpointOutcome = 'none' | 'matched' | 'after-stretch';

export type ChainCheck =
  | { ok: true; count: number; fromGenesis: boolean; keyId?: string; checkpoint: CheckpointOutcome }
  | {
      ok: false;
      count: number;
      fromGenesis: boolean;
      reason: BreakReason;
      /** The record at fault (index from 0), for every reason about one record. */
      index?: number;
      record?: AuditRecord;
      keyId?: string;
      checkpoint?: Checkpoint;
      /** For `bad-checkpoint`: what is wrong with it. */
      detail?: string;
    };

/**
 * Checks the hash chain, each record's signature when a key is given, and that the chain holds the
 * checkpoint's record when one is given. A whole chain starts at genesis; a stretch (an export of
 * one share) starts at its first record's prevHash unless `start` says otherwise.
 */
export function checkChain(records: AuditRecord[], opts: ChainOptions = {}): ChainCheck {
  const from = opts.start ?? (records[0] && records[0].prevHash !== GENESIS ? records[0].prevHash : GENESIS);
  const base = { count: records.length, fromGenesis: from === GENESIS, ...(opts.key ? { keyId: opts.key.keyId } : {}) };
  const broken = (reason: BreakReason, index?: number, extra: { detail?: string } = {}): ChainCheck => ({
    ok: false,
    ...base,
    reason,
    ...(index !== undefined ? { index, record: records[index]! } : {}),
    ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
    ...extra,
  });
  let prev = from;
  for (const [i, r] of records.entries()) {
    const { prevHash, hash, ...body } = r;
    if (prevHash !== prev) return broken('link', i);
    if (chainRecord(body, prevHash).hash !== hash) return broken('modified', i);
    const problem = opts.key && signatureProblem(r, opts.key);
    if (problem) return broken(problem, i);
    prev = hash;
  }
  const cp = opts.checkpoint;
  if (!cp) return { ok: true, ...base, checkpoint: 'none' };
  const cpProblem = opts.key && checkpointProblem(cp, opts.key);
  if (cpProblem) return broken('bad-checkpoint', undefined, { detail: cpProblem });
  const at = records.findIndex((r) => r.eventId === cp.eventId);
  if (at >= 0) {
    const wrongPlace = cp.count !== undefined && base.fromGenesis && at + 1 !== cp.count;
    return records[at]!.hash !== cp.hash || wrongPlace ? broken('checkpoint-mismatch', at) : { ok: true, ...base, checkpoint: 'matched' };
  }
  return base.fromGenesis ? broken('truncated') : { ok: true, ...base, checkpoint: 'after-stretch' };
}

const SAYS: Record<Exclude<BreakReason, 'truncated' | 'bad-checkpoint'>, string> = {
  modified: 'its content does not match its hash: this record was modified',
  link: 'its prevHash is not the hash of the record before it: a record before it was removed, inserted or modified',
  unsigned: 'it carries no signature: it was written before records were signed, or added without the key',
  'other-key': 'it is not signed by the key it is checked against',
  'bad-signature': 'its signature does not match its hash: it was modified and re-hashed, or added without the key',
  'checkpoint-mismatch': "it is the checkpoint's record but not the one the checkpoint names: it, or the chain up to it, was replaced",
};

const describeRecord = (r: AuditRecord) => `eventId ${r.eventId}, ${r.action} (${r.outcome}) at ${r.at}${r.shareId ? `, share ${r.shareId}` : ''}`;

export function describeBreak(c: Extract<ChainCheck, { ok: false }>): string {
  const cp = c.checkpoint;
  if (c.reason === 'bad-checkpoint') return `the checkpoint cannot be trusted: ${c.detail ?? 'bad signature'}`;
  if (c.reason === 'truncated') {
    const named = `the checkpoint's record (eventId ${cp?.eventId}${cp?.seq ? `, seq ${cp.seq}` : ''}, checkpointed at ${cp?.at})`;
    const chain = c.count === 0 ? 'the chain, which is empty' : `the chain of ${c.count} record(s)`;
    return `chain truncated: ${named} is not in ${chain}: records after its last one were removed, or the stream was replaced (or this export is older than the checkpoint)`;
  }
  const r = c.record!;
  const what = c.reason === 'other-key' ? `it is signed by ${r.keyId ?? 'an unnamed key'}, not by ${c.keyId}` : SAYS[c.reason];
  return `chain broken at record ${c.index! + 1} of ${c.count}: ${describeRecord(r)}: ${what}`;
}
