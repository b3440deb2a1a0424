import type { ShareBackendAdapter } from '../adapters/backends/types.ts';
import type { PolicyGate } from '../adapters/policy/types.ts';
import type { Logger } from '../log.ts';
import { inOpenRequest } from '../requestScope.ts';

/**
 * The policy gate, with each decision made for a request logged at `debug` (the request's fields
 * come with it: see requestScope.ts). Decisions made outside a request (a heartbeat, the panel's
 * filters at start) are not logged.
 */
export function tracedGate(gate: PolicyGate, log: Logger): PolicyGate {
  return {
    decide: async (query) => {
      const decision = await gate.decide(query);
      if (inOpenRequest() && log.isLevelEnabled('debug')) {
        log.debug(
          { action: query.action, subject: `${query.requester.kind}:${query.requester.id}`, resource: query.terminal, decision: decision.decision, policies: decision.policies },
          `policy decision: ${decision.decision}`,
        );
      }
      return decision;
    },
    groupsOf: (principal) => gate.groupsOf(principal),
  };
}

/**
 * A backend adapter whose starts (for a request) are logged at `debug`: which backend, how long,
 * and whether a link came, never the link (a secret).
 */
export function tracedBackend<B extends ShareBackendAdapter>(backend: B, log: Logger): B {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'start' || typeof value !== 'function') return value;
      const start = value as ShareBackendAdapter['start'];
      return async (spec: Parameters<ShareBackendAdapter['start']>[0]) => {
        if (!inOpenRequest()) return start.call(target, spec);
        const t0 = Date.now();
        log.debug({ call: `${target.name}.start`, shareId: spec.shareId, access: spec.access }, `backend call: ${target.name} start`);
        const r = await start.call(target, spec);
        log.debug({ call: `${target.name}.start`, shareId: spec.shareId, ms: Date.now() - t0, outcome: r.ok ? 'linked' : r.error.code, pid: r.ok ? r.value.pid : undefined }, `backend answered: ${target.name} ${r.ok ? 'linked' : r.error.code}`);
        return r;
      };
    },
  });
}

/**
 * A terminal adapter whose calls made for a request are logged at `debug`: the method, how long,
 * whether it threw. Arguments and results are not logged (input typed by an agent, screens).
 */
export function tracedTerminals<T extends object>(terminals: T, log: Logger, kind = 'tmux'): T {
  return new Proxy(terminals, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (!inOpenRequest()) return fn.apply(target, args);
        const t0 = Date.now();
        const out = fn.apply(target, args);
        if (!(out instanceof Promise)) return out;
        return out.then(
          (v) => (log.debug({ call: `${kind}.${prop}`, ms: Date.now() - t0 }, `terminal call: ${kind} ${prop}`), v),
          (e: unknown) => {
            log.debug({ call: `${kind}.${prop}`, ms: Date.now() - t0, err: String(e) }, `terminal call failed: ${kind} ${prop}`);
            throw e;
          },
        );
      };
    },
  });
}
