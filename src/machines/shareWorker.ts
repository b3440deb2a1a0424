import { assertEvent, assign, fromCallback, sendParent, sendTo, setup } from 'xstate';
import type { Access, Backend, ShareLink, TerminalRef } from '../api/schemas.ts';
import type { ErrorCode } from '../errors.ts';

/** One backend process (upterm or tmate) serving one share. Started on demand, never outlives its share. */
export type WorkerInput = {
  shareId: string;
  terminal: TerminalRef;
  backend: Backend;
  access: Access;
  linkTimeoutMs: number;
  heartbeatTimeoutMs: number;
  stopTimeoutMs: number;
};

export type BackendActorInput = Pick<WorkerInput, 'shareId' | 'terminal' | 'backend' | 'access'>;

/** What the backend actor reports back; `at` is epoch ms, stamped by whoever owns the clock. */
export type BackendEvent =
  | { type: 'BACKEND.READY'; link: ShareLink; pid?: number; at: number }
  | { type: 'BACKEND.HEARTBEAT'; participants: string[]; at: number }
  | { type: 'BACKEND.EXITED'; code: ErrorCode; message: string; terminalClosed: boolean; at: number; /** what the end could not confirm */ unconfirmed?: string }
  /** The backend now shows another link (tmate after reconnecting to its relay). */
  | { type: 'BACKEND.RELINKED'; link: ShareLink; at: number }
  | { type: 'BACKEND.SWITCHED'; backend: Backend; link: ShareLink; at: number }
  | { type: 'BACKEND.SWITCH_FAILED'; backend: Backend; code: ErrorCode; message: string; at: number };

/** What the worker tells its backend actor. */
export type BackendCommand = { type: 'STOP' } | { type: 'SWITCH'; backend: Backend };

export type WorkerEvent = BackendEvent | BackendCommand;

export type WorkerFailure = { code: ErrorCode; message: string; terminalClosed: boolean };
/** `unconfirmed`: a stop that could not confirm every participant disconnected says what it could not confirm. */
export type WorkerOutput = { outcome: 'stopped'; unconfirmed?: string } | ({ outcome: 'failed' } & WorkerFailure);

/** Sent to the parent share session. */
export type WorkerReport =
  | { type: 'WORKER.READY'; link: ShareLink; at: number }
  | { type: 'WORKER.HEARTBEAT'; participants: string[]; at: number }
  | { type: 'WORKER.RELINKED'; link: ShareLink; at: number }
  | { type: 'WORKER.SWITCHED'; backend: Backend; link: ShareLink; at: number }
  | { type: 'WORKER.SWITCH_FAILED'; backend: Backend; code: ErrorCode; message: string };

type Context = WorkerInput & { link?: ShareLink; failure?: WorkerFailure; unconfirmed?: string };

export const shareWorker = setup({
  types: {
    input: {} as WorkerInput,
    context: {} as Context,
    events: {} as WorkerEvent,
    output: {} as WorkerOutput,
  },
  actors: {
    // Placeholder: the real process wrapper comes in through provide({ actors: { backend } }).
    backend: fromCallback<BackendCommand, BackendActorInput>(() => () => {}),
  },
  delays: {
    linkTimeout: ({ context }) => context.linkTimeoutMs,
    heartbeatTimeout: ({ context }) => context.heartbeatTimeoutMs,
    stopTimeout: ({ context }) => context.stopTimeoutMs,
  },
  actions: {
    recordExit: assign({
      failure: ({ event }) =>
        event.type === 'BACKEND.EXITED'
          ? { code: event.code, message: event.message, terminalClosed: event.terminalClosed }
          : undefined,
    }),
    failNoLink: assign({
      failure: ({ context }) => ({
        code: 'backend_failed' as const,
        message: `${context.backend} gave no link within ${Math.round(context.linkTimeoutMs / 1000)} s; check that the relay is reachable`,
        terminalClosed: false,
      }),
    }),
    failHeartbeat: assign({
      failure: ({ context }) => ({
        code: 'backend_failed' as const,
        message: `${context.backend} missed its heartbeat for ${Math.round(context.heartbeatTimeoutMs / 1000)} s`,
        terminalClosed: false,
      }),
    }),
    reportReady: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'BACKEND.READY');
      return { type: 'WORKER.READY', link: event.link, at: event.at };
    }),
    reportSwitched: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'BACKEND.SWITCHED');
      return { type: 'WORKER.SWITCHED', backend: event.backend, link: event.link, at: event.at };
    }),
    reportSwitchFailed: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'BACKEND.SWITCH_FAILED');
      return { type: 'WORKER.SWITCH_FAILED', backend: event.backend, code: event.code, message: event.message };
    }),
    refuseSwitch: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'SWITCH');
      return { type: 'WORKER.SWITCH_FAILED', backend: event.backend, code: 'conflict', message: 'the backend is (re)starting; switch again once the share is serving' };
    }),
    reportRelinked: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'BACKEND.RELINKED');
      return { type: 'WORKER.RELINKED', link: event.link, at: event.at };
    }),
    stoppedAs: assign({ unconfirmed: ({ event }) => (event.type === 'BACKEND.EXITED' ? event.unconfirmed : undefined) }),
    stopTimedOut: assign({
      unconfirmed: ({ context }) => `${context.backend} did not end within ${Math.round(context.stopTimeoutMs / 1000)} s of the stop; it was killed, and its participants may stay connected to the relay`,
    }),
    reportHeartbeat: sendParent(({ event }): WorkerReport => {
      assertEvent(event, 'BACKEND.HEARTBEAT');
      return { type: 'WORKER.HEARTBEAT', participants: event.participants, at: event.at };
    }),
  },
}).createMachine({
  id: 'shareWorker',
  context: ({ input }) => ({ ...input }),
  initial: 'running',
  states: {
    running: {
      invoke: {
        id: 'backend',
        src: 'backend',
        input: ({ context }) => ({
          shareId: context.shareId,
          terminal: context.terminal,
          backend: context.backend,
          access: context.access,
        }),
      },
      on: {
        'BACKEND.EXITED': { target: 'failed', actions: 'recordExit' },
        STOP: '.stopping',
      },
      initial: 'launching',
      states: {
        launching: {
          on: {
            'BACKEND.READY': { target: 'serving', actions: [assign({ link: ({ event }) => event.link }), 'reportReady'] },
            SWITCH: { actions: 'refuseSwitch' },
          },
          after: { linkTimeout: { target: '#shareWorker.failed', actions: 'failNoLink' } },
        },
        serving: {
          on: {
            'BACKEND.HEARTBEAT': { target: 'serving', reenter: true, actions: 'reportHeartbeat' },
            'BACKEND.RELINKED': { actions: [assign({ link: ({ event }) => event.link }), 'reportRelinked'] },
            SWITCH: { actions: sendTo('backend', ({ event }) => event) },
            'BACKEND.SWITCHED': { actions: [assign({ link: ({ event }) => event.link, backend: ({ event }) => event.backend }), 'reportSwitched'] },
            'BACKEND.SWITCH_FAILED': { actions: 'reportSwitchFailed' },
          },
          after: { heartbeatTimeout: { target: '#shareWorker.failed', actions: 'failHeartbeat' } },
        },
        stopping: {
          entry: sendTo('backend', { type: 'STOP' }),
          on: { 'BACKEND.EXITED': { target: '#shareWorker.stopped', actions: 'stoppedAs' }, STOP: {} },
          // Leaving `running` stops the backend actor, whose cleanup ends the process; the stop says it was not confirmed.
          after: { stopTimeout: { target: '#shareWorker.stopped', actions: 'stopTimedOut' } },
        },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }): WorkerOutput =>
    context.failure ? { outcome: 'failed', ...context.failure } : { outcome: 'stopped', ...(context.unconfirmed ? { unconfirmed: context.unconfirmed } : {}) },
});
