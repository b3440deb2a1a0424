import type { AnyMachineSnapshot, AnyStateNode, AnyTransitionDefinition, InspectionEvent } from 'xstate';
import { matchesEvent, transitionKey, type TransitionInfo } from './transitions.ts';

const activeIds = (s: AnyMachineSnapshot): Set<string> =>
  new Set(((s as unknown as { _nodes: AnyStateNode[] })._nodes ?? []).map((n) => n.id));

/**
 * Watches one machine through xstate's inspection API: which of its transitions each step takes
 * (`@xstate.microstep` carries `_transitions`), and which guarded transitions were declined
 * (their event reached their source state and they were not taken: the other side of the guard).
 */
export class Recorder {
  readonly taken = new Map<string, number>();
  readonly declined = new Set<string>();
  stepTaken: string[] = [];
  private readonly last = new WeakMap<object, AnyMachineSnapshot>();
  private readonly guarded: TransitionInfo[];

  constructor(
    readonly machineId: string,
    catalog: TransitionInfo[],
  ) {
    this.guarded = catalog.filter((t) => t.guarded);
  }

  beginStep(): void {
    this.stepTaken = [];
  }

  readonly inspect = (ev: InspectionEvent): void => {
    if (ev.type === '@xstate.microstep') {
      const snap = ev.snapshot as AnyMachineSnapshot;
      if (snap.machine?.id !== this.machineId) return;
      const transitions = (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions;
      const keys = transitions.map((t) => transitionKey(t));
      for (const k of keys) {
        this.taken.set(k, (this.taken.get(k) ?? 0) + 1);
        this.stepTaken.push(k);
      }
      const before = this.last.get(ev.actorRef);
      if (before) {
        const active = activeIds(before);
        for (const g of this.guarded) {
          if (g.eventType !== '' && matchesEvent(g.eventType, ev.event.type) && active.has(g.sourceId) && !keys.includes(g.key)) {
            this.declined.add(g.key);
          }
        }
      }
      this.last.set(ev.actorRef, snap);
    } else if (ev.type === '@xstate.snapshot') {
      const snap = ev.snapshot as AnyMachineSnapshot;
      if (snap.machine?.id !== this.machineId) return;
      this.last.set(ev.actorRef, snap);
      // A stable snapshot with an eventless transition's source active means its guard said no.
      if (snap.status !== 'active') return;
      const active = activeIds(snap);
      for (const g of this.guarded) if (g.eventType === '' && active.has(g.sourceId)) this.declined.add(g.key);
    }
  };
}
