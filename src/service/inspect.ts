import type { NatsConnection } from '@nats-io/transport-node';
import type { InspectionEvent } from 'xstate';

/** One transition of one actor, as the development inspector shows it. Event payloads stay out: they carry links. */
export type InspectRecord = { at: string; actor: string; system: string; event: string; state: unknown; status: string };

/**
 * The development state inspector: with TERMSHARE_INSPECT=1, every actor's transitions are
 * published on `<prefix>.inspect.<actor id>`; `termshare inspect` prints them live. Works
 * offline (the Stately inspector UI is served from the internet).
 */
export function natsInspector(nc: NatsConnection, prefix: string) {
  return (ev: InspectionEvent) => {
    if (ev.type !== '@xstate.snapshot') return;
    const snap = ev.snapshot as { value?: unknown; status?: string };
    if (snap.value === undefined) return; // promise and callback actors have no states to show
    const ref = ev.actorRef as unknown as { id?: string; sessionId: string };
    const actor = ref.id || 'root';
    const rec: InspectRecord = {
      at: new Date().toISOString(),
      actor,
      system: ref.sessionId,
      event: ev.event.type,
      state: snap.value,
      status: snap.status ?? 'active',
    };
    nc.publish(`${prefix}.inspect.${actor.replace(/[^A-Za-z0-9_-]/g, '_')}`, JSON.stringify(rec));
  };
}

export function formatInspect(r: InspectRecord): string {
  const state = typeof r.state === 'string' ? r.state : JSON.stringify(r.state);
  return `${r.at.slice(11, 23)}  ${r.actor.padEnd(18)}  ${r.event.padEnd(34)}  → ${state}${r.status === 'active' ? '' : ` (${r.status})`}`;
}
