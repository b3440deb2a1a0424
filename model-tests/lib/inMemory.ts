import { assign, fromCallback, setup, type AnyActorRef } from 'xstate';
import type { ShareLink } from '../../src/api/schemas.ts';
import type { PolicyDecision, PolicyQuery } from '../../src/machines/shareSession.ts';
import type { BackendActorInput, BackendEvent } from '../../src/machines/shareWorker.ts';
import type { ModelClock } from './clock.ts';

/** One in-memory backend process: what the worker asked of it, and a handle to make it speak. */
export type FakeProcess = {
  n: number;
  input: BackendActorInput;
  alive: boolean;
  stopRequests: number;
  say: (e: BackendEvent) => void;
};

/**
 * In-memory stand-in for the `backend` actor (src/actors/backendProcess.ts): a callback actor per
 * process, commanded by the test to report READY / HEARTBEAT / EXITED; its cleanup is the force-kill.
 */
export class BackendFleet {
  readonly procs: FakeProcess[] = [];
  constructor(private readonly clock: ModelClock) {}

  readonly logic = fromCallback<{ type: 'STOP' }, BackendActorInput>(({ sendBack, receive, input }) => {
    const p: FakeProcess = {
      n: this.procs.length + 1,
      input,
      alive: true,
      stopRequests: 0,
      say: (e) => {
        if (p.alive) sendBack(e);
      },
    };
    this.procs.push(p);
    receive((e) => {
      if (e.type === 'STOP') p.stopRequests++;
    });
    return () => {
      p.alive = false;
    };
  });

  get current(): FakeProcess | undefined {
    return this.procs.at(-1);
  }
  get alive(): FakeProcess[] {
    return this.procs.filter((p) => p.alive);
  }
}

/** Event payload generators for the backend, valid and invalid variants are chosen by the model. */
export const backendSays = {
  link: (n: number): ShareLink => ({ ssh: `ssh://sh${n}:token@relay.test:22`, sshReadOnly: `ssh://sh${n}ro@relay.test:22` }),
  ready: (n: number, at: number): BackendEvent => ({ type: 'BACKEND.READY', link: backendSays.link(n), pid: 4000 + n, at }),
  heartbeat: (participants: string[], at: number): BackendEvent => ({ type: 'BACKEND.HEARTBEAT', participants, at }),
  exit: (terminalClosed: boolean, at: number): BackendEvent =>
    terminalClosed
      ? { type: 'BACKEND.EXITED', code: 'backend_failed', message: 'the tmux session is gone', terminalClosed: true, at }
      : { type: 'BACKEND.EXITED', code: 'backend_failed', message: 'upterm exited with status 1', terminalClosed: false, at },
};

export type PolicyCall = { query: PolicyQuery; ref: AnyActorRef };

/**
 * In-memory policy gate: one pending decision per call, answered by the test (allow / deny / a
 * malformed answer) or failed (an uncaught error: the invoke's onError), producing the
 * `xstate.done.actor.*` / `xstate.error.actor.*` events the real fromPromise gate would.
 */
export function policyGate(calls: PolicyCall[]) {
  return setup({
    types: {
      input: {} as PolicyQuery,
      context: {} as { query: PolicyQuery; answer?: PolicyDecision },
      events: {} as { type: 'ANSWER'; decision: PolicyDecision } | { type: 'FAIL' },
      output: {} as PolicyDecision,
    },
  }).createMachine({
    id: 'inMemoryPolicy',
    context: ({ input }) => ({ query: input }),
    entry: ({ context, self }) => calls.push({ query: context.query, ref: self }),
    initial: 'deciding',
    states: {
      deciding: {
        on: {
          ANSWER: { target: 'decided', actions: assign({ answer: ({ event }) => event.decision }) },
          FAIL: {
            actions: () => {
              throw new Error('policy gate unreachable');
            },
          },
        },
      },
      decided: { type: 'final' },
    },
    output: ({ context }) => context.answer!,
  });
}

export const decisions = {
  allow: { decision: 'allow', policies: ['permit-owner'], message: 'allowed by permit-owner' } as PolicyDecision,
  deny: { decision: 'deny', policies: ['forbid-ai-rw'], message: 'denied by forbid-ai-rw' } as PolicyDecision,
  /** Invalid: a gate answering something that is not "allow" must be treated as a deny. */
  garbage: { decision: 'maybe', policies: [], message: '?' } as unknown as PolicyDecision,
};
