import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { z } from 'zod';
import type { Principals } from '../adapters/bus/nats/auth/principals.ts';
import { RequestSchemas, endpointMetadata } from '../api/jsonSchema.ts';
import { SERVICE_NAME, Verbs, type Verb } from '../api/subjects.ts';
import { parseRequest } from '../api/validate.ts';
import { ErrorCodes, TermshareError, err, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import { inRequest, type RequestFields } from '../requestScope.ts';
import { endpointErrorCounter } from './endpointStats.ts';
import type { MsgHdrs } from '@nats-io/nats-core';
import { Router, forwardedIdentity, type RouterDeps } from './cluster/router.ts';
import { QUEUE_GROUP } from '../api/subjects.ts';
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
  const svc = await new Svcm(nc).add({
    name: SERVICE_NAME,
    version,
    description: 'share one terminal, safely',
    queue: QUEUE_GROUP,
    // Which build answers, and where: `nats micro info termshare` shows it beside the endpoints' schemas.
    metadata: { version, node: hostname(), pid: String(process.pid), prefix },
  });
  const handlers = verbHandlers(deps);
  // A refusal about a share or handoff carries its correlation id, so it shows with that share's steps.
  const door: DoorDeps = {
    ...deps,
    correlationOf: (ids) =>
      (ids.shareId ? deps.shares.records.get(ids.shareId)?.correlationId : undefined) ?? (ids.handoffId ? deps.handoffs.records.get(ids.handoffId)?.correlationId : undefined),
    terminalOf: (ids) => {
      const named = ids.shareId ? deps.shares.get(ids.shareId) : ids.handoffId ? deps.handoffs.get(ids.handoffId) : undefined;
      return named?.ok ? named.value.terminal : undefined;
    },
  };
  const endpointOf = (verb: Verb) => verb.replace('.', '-');
  const local = (msg: ServiceMsg, verb: Verb, headers?: MsgHdrs) => respond(msg, verb, handlers[verb] as Handler<Verb>, door, log, headers);
  const router = cluster
    ? new Router({ ...cluster, nc, principals: deps.principals, local: (m, v) => local(m, v), refuse: (m, v, e) => respond(m, v, () => err(e), door, log), log: log.child({ actor: 'router' }) })
    : undefined;
  const failed = (verb: Verb) => (e: unknown) => log.error({ verb, err: String(e) }, 'request not answered');
  for (const verb of Object.values(Verbs)) {
    svc.addEndpoint(endpointOf(verb), {
      subject: `${prefix}.${verb}`,
      metadata: endpointMetadata(verb),
      handler: (_err, msg) => void (router ? router.route(msg, verb) : local(msg, verb)).catch(failed(verb)),
    });
    if (cluster) {
      svc.addEndpoint(`node-${verb.replace('.', '-')}`, {
        subject: cluster.subs.node(cluster.node, verb),
        handler: (_err, msg) => void local(msg, verb, forwardedIdentity(msg.headers)).catch(failed(verb)),
      });
    }
  }
  const countError = endpointErrorCounter(svc, log);
  door.refusalCounted = (verb, code) => countError(endpointOf(verb), verb, code);
  return svc;
}

type DoorDeps = {
  principals: Principals;
  effects: ShareEffects;
  correlationOf?: (ids: { shareId?: string; handoffId?: string }) => string | undefined;
  terminalOf?: (ids: { shareId?: string; handoffId?: string }) => string | undefined;
  /** Counts a refusal in the endpoint's NATS micro stats. */
  refusalCounted?: (verb: Verb, code: string) => void;
};

/** Verbs that start something with a correlation id of its own: one is made at the door when the request has none, so the logs and the share agree. */
const STARTS_A_CHAIN: ReadonlySet<Verb> = new Set([Verbs.shareStart, Verbs.handoffRequest]);

/**
 * One request, answered whatever it holds: every failure of the handler (a throw, a rejection)
 * becomes an `internal` error reply, and the reply itself cannot throw (see reply.ts). Never rejects.
 * Every refusal leaves one audit record (`request.refused`), written here at the door unless it
 * was recorded where it happened (TermshareError.audited): an unknown key, a body that does not
 * parse, an identity claim that is not the caller's, a limit, a missing terminal or share, a conflict.
 * Every line logged meanwhile carries the request's verb, correlation id, requester and terminal
 * (requestScope.ts); at `debug`, each step is a line: received, validated, policy decisions and
 * backend calls (traced.ts), handled, replied.
 */
export async function respond(
  msg: ServiceMsg,
  verb: Verb,
  handler: Handler<Verb>,
  deps: DoorDeps,
  log: Logger,
  /** Whose request it is: the server's stamp on the request, or the one a forwarding node carried. */
  headers: MsgHdrs | undefined = msg.headers,
): Promise<void> {
  // A correlation id from the first line on: the request's own, once its body is read, replaces it.
  const fields: RequestFields = { verb, correlationId: randomUUID(), requester: actorOf(headers) };
  await inRequest(fields, async () => {
    const started = Date.now();
    let ids: ReturnType<typeof idsOf> = {};
    let result: Result<unknown>;
    log.debug({ bytes: msg.data.length }, 'request received');
    try {
      result = await (async () => {
        const caller = await callerOf(headers, deps.principals);
        if (!caller.ok) return caller;
        fields.requester = refOf(caller.value);
        const parsed = parseRequest(RequestSchemas[verb], msg.data, verb);
        if (!parsed.ok) return parsed;
        const body = parsed.value as Record<string, unknown>;
        ids = idsOf(body);
        Object.assign(fields, ids);
        fields.terminal ??= deps.terminalOf?.(ids);
        if (typeof body.correlationId !== 'string' && STARTS_A_CHAIN.has(verb)) body.correlationId = fields.correlationId;
        fields.correlationId = (body.correlationId as string | undefined) ?? deps.correlationOf?.(ids) ?? fields.correlationId;
        log.debug('request validated');
        const claims = checkClaims(body, caller.value);
        if (!claims.ok) return claims;
        return handler(body as never, caller.value);
      })();
    } catch (e) {
      log.error({ err: (e as Error)?.stack ?? String(e) }, 'handler threw');
      result = err(new TermshareError(ErrorCodes.internal, `${verb} failed inside the service (${truncate(String((e as Error)?.message ?? e), 200)}); it is logged: try again, and report it if it persists`));
    }
    if (result.ok) log.debug({ outcome: 'ok', ms: Date.now() - started }, 'request handled');
    else {
      log.info({ code: result.error.code }, result.error.message);
      deps.refusalCounted?.(verb, result.error.code);
      if (!result.error.audited) {
        await deps.effects.refused({ verb, actor: fields.requester, code: result.error.code, message: result.error.message, correlationId: fields.correlationId, ...ids }).catch(() => undefined);
      }
    }
    const sent = replyTo(msg, verb, result, log);
    log.debug({ outcome: result.ok ? 'ok' : result.error.code, sent, ms: Date.now() - started }, 'replied');
  });
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
