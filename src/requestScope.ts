import { AsyncLocalStorage } from 'node:async_hooks';

/** Who asked what, about which terminal: the fields every log line of a request carries. */
export type RequestFields = {
  verb: string;
  /** The request's, else that of the share or handoff it names, else one made for the request. */
  correlationId?: string;
  /** `human:<id>`/`ai:<id>` once identified; before that the key the NATS server verified (`nkey:...`). */
  requester: string;
  terminal?: string;
  shareId?: string;
  handoffId?: string;
};

/** `open` from the request's arrival until its reply is sent. */
export type RequestScope = { fields: RequestFields; open: boolean };

const storage = new AsyncLocalStorage<RequestScope>();

/**
 * Runs `fn` as one request's work: whatever it logs, directly or through what it calls, carries
 * `fields` (see log.ts). Timers and actors it starts inherit the scope, but once the reply is sent
 * (`open` false) their later lines no longer claim to be part of the request.
 */
export async function inRequest<T>(fields: RequestFields, fn: (scope: RequestScope) => Promise<T>): Promise<T> {
  const scope: RequestScope = { fields, open: true };
  try {
    return await storage.run(scope, () => fn(scope));
  } finally {
    scope.open = false;
  }
}

/** The fields of the request being handled here, if any (a pino mixin). */
export function requestFields(): Partial<RequestFields> {
  const scope = storage.getStore();
  if (!scope?.open) return {};
  return Object.fromEntries(Object.entries(scope.fields).filter(([, v]) => v !== undefined));
}

/** True while a request is being handled in this async context. */
export const inOpenRequest = (): boolean => storage.getStore()?.open === true;
