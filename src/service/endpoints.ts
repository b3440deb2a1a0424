import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { z } from 'zod';
import * as S from '../api/schemas.ts';
import { SERVICE_NAME, Verbs, type Verb } from '../api/subjects.ts';
import { parseRequest } from '../api/validate.ts';
import { ErrorStatus, TermshareError, ok, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Approvals } from './approvals.ts';
import type { Handoffs } from './handoffs.ts';
import type { Shares } from './shares.ts';

type Handler<Sch extends z.ZodType> = (req: z.infer<Sch>) => Promise<Result<unknown>> | Result<unknown>;

/** The `termshare` NATS micro service: one endpoint per verb of the contract. */
export async function serveEndpoints(
  nc: NatsConnection,
  prefix: string,
  { shares, approvals, handoffs }: { shares: Shares; approvals: Approvals; handoffs: Handoffs },
  log: Logger,
  version: string,
): Promise<Service> {
  const svc = await new Svcm(nc).add({ name: SERVICE_NAME, version, description: 'share one terminal, safely', queue: '' });
  const add = <Sch extends z.ZodType>(verb: Verb, schema: Sch, handler: Handler<Sch>) => {
    svc.addEndpoint(verb.replace('.', '-'), {
      subject: `${prefix}.${verb}`,
      handler: (_err, msg) => void respond(msg, verb, schema, handler, log),
    });
  };
  add(Verbs.shareStart, S.ShareStartRequest, async (r) => wrap('share', await shares.start(r)));
  add(Verbs.shareStop, S.ShareStopRequest, async (r) => wrap('share', await shares.end('STOP', r.shareId, r.requester)));
  add(Verbs.shareRevoke, S.ShareRevokeRequest, async (r) => wrap('share', await shares.end('REVOKE', r.shareId, r.requester, r.reason)));
  add(Verbs.shareExtend, S.ShareExtendRequest, async (r) => wrap('share', await shares.extend(r.shareId, r.ttlSeconds, r.requester)));
  add(Verbs.shareSwitch, S.ShareSwitchRequest, async (r) => wrap('share', await shares.switch(r.shareId, r.backend, r.requester)));
  add(Verbs.shareGet, S.ShareGetRequest, (r) => wrap('share', shares.get(r.shareId)));
  add(Verbs.shareList, S.ShareListRequest, (r) => ok({ shares: shares.list(r.terminal) }));
  add(Verbs.approvalDecide, S.ApprovalDecideRequest, async (r) => wrap('approval', await approvals.decide(r)));
  add(Verbs.approvalList, S.ApprovalListRequest, (r) => ok({ approvals: approvals.list(r.state) }));
  add(Verbs.handoffRequest, S.HandoffRequest, async (r) => wrap('handoff', await handoffs.request(r)));
  add(Verbs.handoffGet, S.HandoffGetRequest, (r) => wrap('handoff', handoffs.get(r.handoffId)));
  add(Verbs.handoffRelease, S.HandoffReleaseRequest, async (r) => wrap('handoff', await handoffs.release(r.handoffId, r.requester)));
  add(Verbs.terminalContext, S.TerminalContextRequest, (r) => handoffs.context(r));
  add(Verbs.terminalScreen, S.TerminalScreenRequest, (r) => handoffs.screen(r));
  add(Verbs.terminalInput, S.TerminalInputRequest, (r) => handoffs.input(r));
  return svc;
}

function wrap<K extends string, T>(key: K, r: Result<T>): Result<Record<K, T>> {
  return r.ok ? ok({ [key]: r.value } as Record<K, T>) : r;
}

async function respond<Sch extends z.ZodType>(msg: ServiceMsg, verb: string, schema: Sch, handler: Handler<Sch>, log: Logger) {
  const parsed = parseRequest(schema, msg.data, verb);
  let result: Result<unknown>;
  try {
    result = parsed.ok ? await handler(parsed.value) : parsed;
  } catch (e) {
    log.error({ verb, err: (e as Error).stack }, 'handler threw');
    result = { ok: false, error: new TermshareError('backend_failed', `internal error in ${verb}: ${(e as Error).message}`) };
  }
  const correlationId = parsed.ok && parsed.value && typeof parsed.value === 'object' && 'correlationId' in parsed.value ? parsed.value.correlationId : undefined;
  if (result.ok) {
    msg.respond(JSON.stringify(result.value));
  } else {
    log.info({ verb, code: result.error.code, correlationId }, result.error.message);
    msg.respondError(ErrorStatus[result.error.code], result.error.message, JSON.stringify(result.error.toBody()));
  }
}
