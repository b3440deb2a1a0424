import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { z } from 'zod';
import type { Principals } from '../adapters/bus/nats/auth/principals.ts';
import { RequestSchemas } from '../api/jsonSchema.ts';
import { QUEUE_GROUP, SERVICE_NAME, Verbs, type Verb } from '../api/subjects.ts';
import { parseRequest } from '../api/validate.ts';
import { ErrorCodes, TermshareError, err, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MsgHdrs } from '@nats-io/nats-core';
import { Router, forwardedIdentity, type RouterDeps } from './cluster/router.ts';
import { REQUEST_INFO_HEADER, callerOf, checkClaims, refOf, type Caller } from './identity.ts';
import type { ShareEffects } from './effects.ts';
import { replyTo, truncate } from './reply.ts';
import { verbHandlers, type VerbDeps } from './verbs.ts';

export type Handler<V extends Verb> = (req: z.infer<(typeof RequestSchemas)[V]>, caller: Caller) => Promise<Result<unknown>> | Result<unknown>;
export type Handlers = { [V in Verb]: Handler<V> };

/** What a node of a cluster routes with (see cluster/router.ts). */
export type ClusterRouting = Omit<RouterDeps, 'nc' | 'principals' | 'local' | 'refuse' | 'log'>;

/**
 * The `termshare` NATS micro service: one endpoint per verb of the contract. Every request is
 * answered as the principal the NATS server authenticated (never as the body says), and every
 * verb is a policy action (see verbs.ts). The v1 subjects are a queue group: one node takes each
 * request; with `cluster`, it routes it to the node that owns what it is about, which answers it on
 * its per-node subject (`<prefix>.node.<node>.<verb>`).
 */
export async function serveEndpoints(
  nc: NatsConnection,
  prefix: string,
  deps: VerbDeps & { principals: Principals; effects: ShareEffects },
  log: Logger,
  version: string,
  cluster?: ClusterRouting,
): Promise<Service> {
  const svc = await new Svcm(nc).add({ name: SERVICE_NAME, version, description: 'share one terminal, safely', queue: QUEUE_GROUP });
  const handlers = verbHandlers(deps);
  // A refusal about a share or handoff carries its correlation id, so it shows with that share's steps.
  const door = {
    ...deps,
    correlationOf: (ids: { shareId?: string; handoffId?: string }) =>
      (ids.shareId ? deps.shares.records.get(ids.shareId)?.correlationId : undefined) ?? (ids.handoffId ? deps.handoffs.records.get(ids.handoffId)?.correlationId : undefined),
  };
  const local = (msg: ServiceMsg, verb: Verb, headers?: MsgHdrs) => respond(msg, verb, handlers[verb] as Handler<Verb>, door, log, headers);
  const router = cluster
    ? new Router({ ...cluster, nc, principals: deps.principals, local: (m, v) => local(m, v), refuse: (m, v, e) => respond(m, v, () => err(e), door, log), log: log.child({ actor: 'router' }) })
    : undefined;
  const failed = (verb: Verb) => (e: unknown) => log.error({ verb, err: String(e) }, 'request not answered');
  for (const verb of Object.values(Verbs)) {
    svc.addEndpoint(verb.replace('.', '-'), {
      subject: `${prefix}.${verb}`,
      handler: (_err, msg) => void (router ? router.route(msg, verb) : local(msg, verb)).catch(failed(verb)),
    });
    if (cluster) {
      svc.addEndpoint(`node-${verb.replace('.', '-')}`, {
        subject: cluster.subs.node(cluster.node, verb),
        handler: (_err, msg) => void local(msg, verb, forwardedIdentity(msg.headers)).catch(failed(verb)),
      });
    }
  }
  return svc;
}

/**
 * One request, answered whatever it holds: every failure of the handler (a throw, a rejection)
 * becomes an `internal` error reply, and the reply itself cannot throw (see reply.ts). Never rejects.
 * Every refusal leaves one audit record (`request.refused`), written here at the door unless it
 * was recorded where it happened (TermshareError.audited): an unknown key, a body that does not
 * parse, an identity claim that is not the caller's, a limit, a missing terminal or share, a conflict.
 */
export async function respond(
  msg: ServiceMsg,
  verb: Verb,
  handler: Handler<Verb>,
  deps: { principals: Principals; effects: ShareEffects; correlationOf?: (ids: { shareId?: string; handoffId?: string }) => string | undefined },
  log: Logger,
  /** Whose request it is: the server's stamp on the request, or the one a forwarding node carried. */
  headers: MsgHdrs | undefined = msg.headers,
): Promise<void> {
  let correlationId: string | undefined;
  let actor = actorOf(headers);
  let ids: ReturnType<typeof idsOf> = {};
  let result: Result<unknown>;
  try {
    result = await (async () => {
      const caller = await callerOf(headers, deps.principals);
      if (!caller.ok) return caller;
      actor = refOf(caller.value);
      const parsed = parseRequest(RequestSchemas[verb], msg.data, verb);
      if (!parsed.ok) return parsed;
      const body = parsed.value as Record<string, unknown>;
      correlationId = typeof body.correlationId === 'string' ? body.correlationId : undefined;
      ids = idsOf(body);
      const claims = checkClaims(body, caller.value);
      if (!claims.ok) return claims;
      return handler(parsed.value as never, caller.value);
    })();
  } catch (e) {
    log.error({ verb, correlationId, err: (e as Error)?.stack ?? String(e) }, 'handler threw');
    result = err(new TermshareError(ErrorCodes.internal, `${verb} failed inside the service (${truncate(String((e as Error)?.message ?? e), 200)}); it is logged: try again, and report it if it persists`));
  }
  if (!result.ok) {
    log.info({ verb, code: result.error.code, correlationId }, result.error.message);
    if (!result.error.audited) {
      const correlation = correlationId ?? deps.correlationOf?.(ids);
      await deps.effects.refused({ verb, actor, code: result.error.code, message: result.error.message, ...(correlation ? { correlationId: correlation } : {}), ...ids }).catch(() => undefined);
    }
  }
  replyTo(msg, verb, result, log);
}

/** Who asked, before the key is known to be a principal's: the key the NATS server verified, if any. */
function actorOf(headers: ServiceMsg['headers']): string {
  try {
    const user = (JSON.parse(headers?.get(REQUEST_INFO_HEADER) ?? '{}') as { user?: unknown }).user;
    return typeof user === 'string' && user ? `nkey:${user}` : 'unauthenticated';
  } catch {
    return 'unauthenticated';
  }
}

const idsOf = (body: Record<string, unknown>) => ({
  ...(typeof body.shareId === 'string' ? { shareId: body.shareId } : {}),
  ...(typeof body.handoffId === 'string' ? { handoffId: body.handoffId } : {}),
  ...(typeof body.terminal === 'string' ? { terminal: body.terminal } : {}),
});
