import type { Service } from '@nats-io/services';
import type { Logger } from '../log.ts';

type EndpointRecord = { name: string; stats?: { countError?: (e: Error) => void } };

/**
 * Counts a refusal in its endpoint's NATS micro stats (`num_errors`, `last_error`), as
 * `nats micro stats termshare` shows them. @nats-io/services counts an error only when a handler
 * throws synchronously; termshare answers asynchronously and replies to every failure itself, so it
 * counts on the library's own per-endpoint record (`countError`), found by endpoint name.
 * `last_error` holds the verb and code only: a message may quote a caller's input.
 */
export function endpointErrorCounter(svc: Service, log: Logger): (endpoint: string, verb: string, code: string) => void {
  const handlers = (svc as unknown as { handlers?: EndpointRecord[] }).handlers;
  const byName = new Map((Array.isArray(handlers) ? handlers : []).map((h) => [h.name, h]));
  let warned = false;
  return (endpoint, verb, code) => {
    const count = byName.get(endpoint)?.stats?.countError;
    if (typeof count === 'function') return count.call(byName.get(endpoint)!.stats, new Error(`${verb}: ${code}`));
    if (!warned) log.warn({ endpoint }, 'this @nats-io/services version keeps no per-endpoint stats record: refusals are not counted in `nats micro stats`');
    warned = true;
  };
}
