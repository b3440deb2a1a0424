import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** One transition of a machine, as written in its config: state, event, guard, targets. */
export type TransitionInfo = {
  key: string;
  machineId: string;
  sourceId: string;
  /** '' for `always`. */
  eventType: string;
  guarded: boolean;
  kind: 'on' | 'after' | 'always' | 'done.actor' | 'error.actor' | 'done.state';
};

const rel = (machineId: string, id: string) => (id === machineId ? '(root)' : id.slice(machineId.length + 1));

function guardLabel(t: AnyTransitionDefinition): string {
  const g: unknown = t.guard;
  if (g === undefined) return '';
  if (typeof g === 'string') return `[${g}]`;
  if (typeof g === 'function') return `[${(g as { name?: string }).name || 'inline'}]`;
  const o = g as { type?: string; params?: unknown };
  return `[${o.type ?? 'inline'}${o.params === undefined ? '' : `(${Object.values(o.params as object).join(',')})`}]`;
}

function eventLabel(source: AnyStateNode, eventType: string): { label: string; kind: TransitionInfo['kind'] } {
  if (eventType === '') return { label: 'always', kind: 'always' };
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return { label: `after(${after[1]})`, kind: 'after' };
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) {
    const id = actor[2]!;
    const inv = source.invoke.find((i) => i.id === id);
    const name = inv ? (typeof inv.src === 'string' ? inv.src : id) : id;
    return { label: `${actor[1]}.actor(${name})`, kind: actor[1] === 'done' ? 'done.actor' : 'error.actor' };
  }
  if (eventType.startsWith('xstate.done.state.')) return { label: 'done.state', kind: 'done.state' };
  return { label: eventType, kind: 'on' };
}

/** Stable, readable key: `<state> --<event>[guard]--> <targets>`; `#i` is the candidate's index when the event has several. */
export function transitionKey(t: AnyTransitionDefinition): string {
  const source = t.source;
  const machineId = source.machine.id;
  const list: AnyTransitionDefinition[] = t.eventType === '' ? (source.always ?? []) : (source.transitions.get(t.eventType) ?? []);
  const index = list.indexOf(t);
  const { label } = eventLabel(source, t.eventType);
  const targets = t.target?.length ? t.target.map((n: AnyStateNode) => rel(machineId, n.id)).join(',') : '(no target)';
  const reenter = t.reenter && t.target?.length ? ' (reenter)' : '';
  const nth = list.length > 1 ? ` #${index}` : '';
  return `${rel(machineId, source.id)} --${label}${guardLabel(t)}--> ${targets}${reenter}${nth}`;
}

/** Every transition of a machine, walked statically from `machine.root`: `on`, `after`, `always`, invoke onDone/onError, state onDone. */
export function listTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const out: TransitionInfo[] = [];
  const walk = (node: AnyStateNode) => {
    const defs: AnyTransitionDefinition[] = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of defs) {
      out.push({
        key: transitionKey(t),
        machineId: machine.id,
        sourceId: node.id,
        eventType: t.eventType,
        guarded: t.guard !== undefined,
        kind: eventLabel(node, t.eventType).kind,
      });
    }
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  const keys = new Set(out.map((t) => t.key));
  if (keys.size !== out.length) throw new Error(`${machine.id}: two transitions share a key; make transitionKey more specific`);
  return out;
}

/** Does a transition listening to `descriptor` (maybe a wildcard like `xstate.done.actor.*`) take `eventType`? */
export function matchesEvent(descriptor: string, eventType: string): boolean {
  if (descriptor === eventType || descriptor === '*') return true;
  return descriptor.endsWith('.*') && eventType.startsWith(descriptor.slice(0, -1));
}
