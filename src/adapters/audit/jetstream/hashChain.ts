import { createHash } from 'node:crypto';
import type { AuditRecord } from '../../../api/schemas.ts';
import { verifySignature, type AuditPublicKey, type AuditSigner } from './auditKey.ts';

export const GENESIS = 'sha256:genesis';

/** A record's content: what its hash covers (everything but the chain and signature fields). */
export type AuditBody = Omit<AuditRecord, 'prevHash' | 'hash' | 'keyId' | 'sig'>;

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Each record's hash covers its content and the previous record's hash: editing or removing one
 * breaks the chain. `keyId`/`sig` are left out (the signature is over the hash), so the hash is the
 * one records had before they were signed.
 */
export function chainRecord(body: AuditBody & { keyId?: string; sig?: string }, prevHash: string): AuditRecord {
  // A whole record may be given (to re-chain it): its chain and signature fields are not content.
  const { keyId: _keyId, sig: _sig, prevHash: _prev, hash: _hash, ...content } = body as Partial<AuditRecord> & AuditBody;
  const hash = 'sha256:' + createHash('sha256').update(prevHash).update(canonical(content)).digest('hex');
  return { ...content, prevHash, hash };
}

/** The record with the signer's key id and its signature over the record's hash. */
export function signRecord(rec: AuditRecord, signer: AuditSigner): AuditRecord {
  return { ...rec, keyId: signer.keyId, sig: signer.sign(rec.hash) };
}

export type SignatureProblem = 'unsigned' | 'other-key' | 'bad-signature';

/** What is wrong with a record's signature under `key`, or undefined when `key` signed its hash. */
export function signatureProblem(rec: AuditRecord, key: AuditPublicKey): SignatureProblem | undefined {
  if (!rec.sig) return 'unsigned';
  if (rec.keyId !== key.keyId) return 'other-key';
  return verifySignature(key, rec.hash, rec.sig) ? undefined : 'bad-signature';
}

/** Returns the index of the first record whose hash or link is wrong, or -1 when the chain holds. */
export function verifyChain(records: AuditRecord[], start = GENESIS): number {
  let prev = start;
  for (const [i, r] of records.entries()) {
    const { prevHash, hash, ...body } = r;
    if (prevHash !== prev || chainRecord(body, prevHash).hash !== hash) return i;
    prev = hash;
  }
  return -1;
}
