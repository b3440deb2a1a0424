import { createHash } from 'node:crypto';
import type { AuditRecord } from '../../../api/schemas.ts';

export const GENESIS = 'sha256:genesis';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Each record's hash covers its content and the previous record's hash: editing or removing one breaks the chain. */
export function chainRecord(body: Omit<AuditRecord, 'prevHash' | 'hash'>, prevHash: string): AuditRecord {
  const hash = 'sha256:' + createHash('sha256').update(prevHash).update(canonical(body)).digest('hex');
  return { ...body, prevHash, hash };
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
