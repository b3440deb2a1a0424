import { assign, fromCallback, setup, type AnyActorRef } from 'xstate';
import type { Backend, ShareLink } from '../../src/api/schemas.ts';
import type { PolicyDecision, PolicyQuery } from '../../src/machines/shareSession.ts';
import type { BackendActorInput, BackendCommand, BackendEvent } from '../../src/machines/shareWorker.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { ModelClock } from './clock.ts';

/** One OS process a backend actor ran (upterm or tmate): the first one, then one per switch it started. */
export type OsProcess = { backend: Backend; alive: boolean; stopRequested: boolean; replaced: boolean };

/** One in-memory backend actor: what the worker asked of it, the processes it ran, and handles to make it speak. */
export type FakeProcess = {
  n: number;
  input: BackendActorInput;
  /** The actor is running (its cleanup, the force-kill, has not run). */
  alive: boolean;
  stopRequests: number;
  /** Every SWITCH the worker passed on, in order (accepted or not). */
  switchRequests: Backend[];
  /** Its processes, in launch order. */
  os: OsProcess[];
  /** The process whose link is the share's (its exit is the worker's business). */
  serving: OsProcess;
  /** The process a switch in flight is bringing up (make before break), if any. */
  switching?: OsProcess;
  /** Switches completed: numbers the links of the processes it switched to. */
  switches: number;
  ready: boolean;
  say: (e: BackendEvent) => void;
  /** The new process gave its link: adopt it, stop the old one, report SWITCHED. */
  switched: (at: number) => void;
  /** The new process failed to come up: the old one goes on, report SWITCH_FAILED. */
  switchFailed: (at: number) => void;
};

/**
 * In-memory stand-in for the `backend` actor (src/actors/backendProcess.ts): a callback actor per
 * worker, commanded by the test to report READY / HEARTBEAT / EXITED / SWITCHED / SWITCH_FAILED; its
 * cleanup is the force-kill of every process it runs. Like the real actor, a SWITCH before the first
 * link or during another switch is ignored, and a switch is make before break: the old process is
 * told to stop only once the new one has its link.
 */
export class BackendFleet {
  readonly procs: FakeProcess[] = [];
  constructor(private readonly clock: ModelClock) {}

  readonly logic = fromCallback<BackendCommand, BackendActorInput>(({ sendBack, receive, input }) => {
    const first: OsProcess = { backend: input.backend, alive: true, stopRequested: false, replaced: false };
    const p: FakeProcess = {
      n: this.procs.length + 1,
      input,
      alive: true,
      stopRequests: 0,
      switchRequests: [],
      os: [first],
      serving: first,
      switches: 0,
      ready: false,
      say: (e) => {
        if (!p.alive) return;
        if (e.type === 'BACKEND.READY') p.ready = true;
        if (e.type === 'BACKEND.EXITED') p.serving.alive = false;
        sendBack(e);
      },
      switched: (at) => {
        const next = p.switching;
        if (!p.alive || !next) return;
        const old = p.serving;
        p.switching = undefined;
        p.serving = next;
        p.switches++;
        old.replaced = true;
        old.stopRequested = true;
        old.alive = false;
        sendBack({ type: 'BACKEND.SWITCHED', backend: next.backend, link: backendSays.switchedLink(p.n, p.switches, next.backend), at });
      },
      switchFailed: (at) => {
        const next = p.switching;
        if (!p.alive || !next) return;
        p.switching = undefined;
        next.alive = false;
        sendBack({ type: 'BACKEND.SWITCH_FAILED', backend: next.backend, ...backendSays.switchFailure(next.backend), at });
      },
    };
    this.procs.push(p);
    receive((e) => {
      if (e.type === 'STOP') {
        p.stopRequests++;
        p.serving.stopRequested = true;
        return;
      }
      p.switchRequests.push(e.backend);
      if (!p.ready || p.switching || !p.serving.alive) return;
      p.switching = { backend: e.backend, alive: true, stopRequested: false, replaced: false };
      p.os.push(p.switching);
    });
    return () => {
      p.alive = false;
      for (const o of p.os) o.alive = false;
      p.switching = undefined;
    };
  });

  get current(): FakeProcess | undefined {
    return this.procs.at(-1);
  }
  get alive(): FakeProcess[] {
    return this.procs.filter((p) => p.alive);
  }
  /** Every OS process still running, over all the actors. */
  get running(): OsProcess[] {
    return this.procs.flatMap((p) => p.os.filter((o) => o.alive));
  }
}

/**
 * The make-before-break rule, over the whole fleet: at most one process per share, two only while a
 * switch is in flight; every process replaced by a switch was told to stop and is gone.
 */
export function checkProcesses(fleet: BackendFleet): string | undefined {
  const running = fleet.running;
  const switching = fleet.procs.filter((p) => p.switching).length;
  if (running.length > 1 + switching) return `${running.length} backend processes running for one share (${switching} switch in flight)`;
  for (const p of fleet.procs) {
    for (const o of p.os) {
      if (o.alive && o !== p.serving && o !== p.switching) return `backend actor ${p.n}: a ${o.backend} process neither serving nor switching is still running`;
      if (o.replaced && (o.alive || !o.stopRequested)) return `backend actor ${p.n}: the ${o.backend} process a switch replaced was not told to stop`;
    }
  }
  return undefined;
}

/** Event payload generators for the backend, valid and invalid variants are chosen by the model. */
export const backendSays = {
  link: (n: number): ShareLink => ({ ssh: `ssh://sh${n}:token@relay.test:22`, sshReadOnly: `ssh://sh${n}ro@relay.test:22` }),
  /** The link of the k-th process backend actor n switched to. */
  switchedLink: (n: number, k: number, backend: Backend): ShareLink => ({
    ssh: `ssh://sh${n}s${k}:token@${backend}.relay.test:22`,
    sshReadOnly: `ssh://sh${n}s${k}ro@${backend}.relay.test:22`,
  }),
  switchFailure: (backend: Backend): { code: ErrorCode; message: string } => ({ code: 'backend_unavailable', message: `${backend} gave no link` }),
  ready: (n: number, at: number): BackendEvent => ({ type: 'BACKEND.READY', link: backendSays.link(n), pid: 4000 + n, at }),
  heartbeat: (participants: string[], at: number): BackendEvent => ({ type: 'BACKEND.HEARTBEAT', participants, at }),
  /** The link backend actor n shows after its relay came back (tmate reconnects by itself). */
  reconnectedLink: (n: number): ShareLink => ({ ssh: `ssh://sh${n}r:token@relay.test:22` }),
  relinked: (n: number, at: number): BackendEvent => ({ type: 'BACKEND.RELINKED', link: backendSays.reconnectedLink(n), at }),
  /** What a stop that could not confirm its participants gone says. */
  unconfirmed: 'upterm did not end within 1500 ms of SIGTERM and was killed',
  exit: (terminalClosed: boolean, at: number, unconfirmed = false): BackendEvent =>
    terminalClosed
      ? { type: 'BACKEND.EXITED', code: 'backend_failed', message: 'the tmux session is gone', terminalClosed: true, at }
      : { type: 'BACKEND.EXITED', code: 'backend_failed', message: 'upterm exited with status 1', terminalClosed: false, at, ...(unconfirmed ? { unconfirmed: backendSays.unconfirmed } : {}) },
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
  /** Permitted once one member of `leads` approves (within 30 s). */
  approval: {
    decision: 'approval',
    policies: ['permit-with-approval'],
    message: 'permitted by permit-with-approval once approved',
    approval: { policy: 'permit-with-approval', approvals: 1, approvers: ['leads'], ordered: false, timeoutMs: 30_000 },
  } as PolicyDecision,
  /** Invalid: "approval" without a requirement must be treated as a deny (fail closed). */
  approvalMissing: { decision: 'approval', policies: ['permit-with-approval'], message: 'permitted once approved' } as PolicyDecision,
};

/** One call of a promise stand-in: its input, and the actor to answer it with. */
export type StandInCall<I> = { input: I; ref: AnyActorRef };

/**
 * In-memory stand-in for a `fromPromise` actor (the handoff's transfer and restore): one pending call
 * per invocation, recorded with its input, resolved by the test (`RESOLVE` with the output) or
 * rejected (`REJECT`: an uncaught error, hence the invoke's onError), like the real promise would.
 * A call its parent stopped (the state left) shows as status `stopped`.
 */
export function promiseStandIn<I, O>(id: string, calls: StandInCall<I>[]) {
  return setup({
    types: {
      input: {} as I,
      context: {} as { input: I; output?: O },
      events: {} as { type: 'RESOLVE'; output: O } | { type: 'REJECT'; message: string },
      output: {} as O,
    },
  }).createMachine({
    id,
    context: ({ input }) => ({ input }),
    entry: ({ context, self }) => calls.push({ input: context.input, ref: self }),
    initial: 'pending',
    states: {
      pending: {
        on: {
          RESOLVE: { target: 'resolved', actions: assign({ output: ({ event }) => event.output }) },
          REJECT: {
            actions: ({ event }) => {
              throw new Error(event.message);
            },
          },
        },
      },
      resolved: { type: 'final' },
    },
    output: ({ context }) => context.output as O,
  });
}
