import { createActor, setup, createMachine, sendParent, SimulatedClock, assign } from 'xstate';
const child = createMachine({ id: 'kid', initial: 'a', states: { a: { on: { FIN: 'b', CRASH: { actions: () => { throw new Error('boom'); } } } }, b: { type: 'final' } } });
const parent = setup({ actors: { kid: child } }).createMachine({
  id: 'p', initial: 's', states: { s: { on: { SPAWN: { actions: assign(({ spawn }) => { spawn('kid', { id: 'x' }); spawn('kid', {id:'y'}); return {}; }) } } } },
  on: { 'xstate.done.actor.*': { actions: ({ event }) => console.log('parent got', event.type) }, 'xstate.error.actor.*': { actions: ({ event }) => console.log('parent got', event.type, String((event as any).error)) } },
});
const a = createActor(parent, { inspect: (ev) => { if (ev.type === '@xstate.microstep') console.log('micro', ev.actorRef.id, ev.event.type, (ev as any)._transitions.length); } });
a.start(); a.send({ type: 'SPAWN' });
console.log(Object.keys(a.getSnapshot().children));
a.getSnapshot().children.x!.send({ type: 'FIN' });
console.log('after fin', Object.keys(a.getSnapshot().children));
a.getSnapshot().children.y!.send({ type: 'CRASH' });
console.log('after crash', Object.keys(a.getSnapshot().children), a.getSnapshot().status);
// sendParent from root
const r = createMachine({ on: { X: { actions: sendParent({ type: 'Y' }) } } });
const ra = createActor(r); ra.subscribe({ error: (e) => console.log('root err', String(e)) }); ra.start();
try { ra.send({ type: 'X' }); } catch (e) { console.log('threw', String(e)); }
console.log('root status', ra.getSnapshot().status);
