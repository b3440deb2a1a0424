import { matches, type AuditFilter } from '../adapters/audit/jetstream/auditReader.ts';
import type { AuditPage } from '../adapters/audit/jetstream/auditPage.ts';
import type { AuditRecord } from '../api/schemas.ts';
import { Verbs } from '../api/subjects.ts';
import type { TermshareClient } from './client.ts';

/** The service refused to read the trail for this caller (policy `audit.read`), or could not. */
export class AuditReadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const PAGE = 1000;
const POLL_MS = 500;

async function page(client: TermshareClient, afterSeq: number, limit = PAGE): Promise<AuditPage> {
  const r = await client.request<AuditPage>(Verbs.auditRead, { afterSeq, limit });
  if (!r.ok) throw new AuditReadError(r.code, `${r.code}: ${r.message}`);
  return r.value;
}

/**
 * Every record of the trail, oldest first, read through the service (`auditlog.read`): the
 * caller is a principal like any other, and the policy decides whether it may read the trail.
 */
export async function readAuditVia(client: TermshareClient, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let after = 0; ; ) {
    const p = await page(client, after);
    out.push(...p.records.filter((r) => matches(r, filter)));
    if (p.records.length === 0 || p.nextSeq >= p.lastSeq) return out;
    after = p.nextSeq;
  }
}

/** The last `last` records, then each new one (asked for every half second), until `signal` aborts. */
export async function* tailAuditVia(client: TermshareClient, opts: { last?: number; filter?: AuditFilter; signal?: AbortSignal } = {}): AsyncGenerator<AuditRecord> {
  const head = await page(client, 0, 1);
  let after = Math.max(0, head.lastSeq - (opts.last ?? 10));
  while (!opts.signal?.aborted) {
    const p = await page(client, after);
    for (const r of p.records) if (matches(r, opts.filter ?? {})) yield r;
    after = p.nextSeq;
    if (p.nextSeq >= p.lastSeq) await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, POLL_MS);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
