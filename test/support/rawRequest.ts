import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import { z } from 'zod';
import type { Share } from '../../src/api/schemas.ts';
import { subjects, type Verb } from '../../src/api/subjects.ts';
import type { TermshareClient } from '../../src/cli/client.ts';
import { ErrorCodes } from '../../src/errors.ts';

/** The contract's error body: `{error: {code, message}}`, code one of the contract's. */
export const ErrorReply = z.object({
  error: z.object({ code: z.enum(Object.values(ErrorCodes) as [string, ...string[]]), message: z.string().min(1), details: z.unknown().optional() }),
});

export type RawReply = { status?: number; header?: string; body: unknown; text: string };

/** A request of any bytes on a verb's subject, as anyone on the bus could send it; the reply as it came. */
export async function rawRequest(client: TermshareClient, verb: Verb, payload: Uint8Array | string, timeoutMs = 10_000): Promise<RawReply> {
  const m = await client.nc.request(subjects().request(verb), payload, { timeout: timeoutMs });
  const code = m.headers?.get(ServiceErrorCodeHeader);
  const text = m.string();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* left as text */
  }
  return { ...(code ? { status: Number(code), header: m.headers?.get(ServiceErrorHeader) } : {}), body, text };
}

/** The shares the operator sees: how the tests tell that the service answers and what it holds. */
export async function shareCensus(client: TermshareClient): Promise<Share[]> {
  const r = await client.request<{ shares: Share[] }>('share.list', {}, 5000);
  if (!r.ok) throw new Error(`share.list refused: ${r.code}: ${r.message}`);
  return r.value.shares;
}
