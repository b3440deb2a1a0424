import type { MsgHdrs } from '@nats-io/nats-core';
import { USERS_ACCOUNT } from '../adapters/bus/nats/auth/authConfig.ts';
import type { Principals } from '../adapters/bus/nats/auth/principals.ts';
import type { Requester } from '../api/schemas.ts';
import { shown } from '../api/quote.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';

/** The header nats-server stamps on a request that crossed a `share: true` service import. */
export const REQUEST_INFO_HEADER = 'Nats-Request-Info';

/** A principal the NATS server authenticated. */
export type Caller = Requester;

export const refOf = (r: Pick<Requester, 'kind' | 'id'>) => `${r.kind}:${r.id}`;

const unauthorized = (message: string) => err(new TermshareError(ErrorCodes.unauthorized, message));

/**
 * Who sent a request, as the NATS server saw it: the nkey it verified (the `user` of the
 * request info the server writes; a client's own header of that name is overwritten), mapped to
 * a principal through the principals file. Nothing in the body counts.
 */
export async function callerOf(headers: MsgHdrs | undefined, principals: Principals): Promise<Result<Caller>> {
  const raw = headers?.get(REQUEST_INFO_HEADER);
  let info: { acc?: string; user?: string } = {};
  try {
    info = raw ? (JSON.parse(raw) as typeof info) : {};
  } catch {
    /* treated as absent below */
  }
  if (info.acc !== USERS_ACCOUNT || !info.user) {
    return unauthorized(
      `the request carries no identity vouched for by the NATS server: connect with termshare credentials (\`termshare principal add\`) to a server whose ${USERS_ACCOUNT} account imports termshare's verbs with share: true (see the README)`,
    );
  }
  const entry = await principals.byKey(info.user);
  if (!entry) return unauthorized(`the key ${info.user.slice(0, 12)}… is not a termshare principal; ask an operator for credentials (\`termshare principal add\`)`);
  if (entry.revokedAt) return unauthorized(`the credentials of ${entry.principal} were revoked at ${entry.revokedAt}; ask an operator for new ones`);
  const [kind, ...rest] = entry.principal.split(':');
  return ok({ kind: kind as Requester['kind'], id: rest.join(':') });
}

/** Body fields that name who is acting; each must be the caller when present. */
const CLAIMS = ['requester', 'approver'] as const;

/** A body that names someone other than the caller as the one acting is refused, saying who the caller is. */
export function checkClaims(body: unknown, caller: Caller): Result<true> {
  if (!body || typeof body !== 'object') return ok(true);
  for (const field of CLAIMS) {
    const claimed = (body as Record<string, unknown>)[field] as Requester | undefined;
    if (claimed && (claimed.kind !== caller.kind || claimed.id !== caller.id)) {
      return unauthorized(
        `you are signed in as ${refOf(caller)}, but the request says ${field} ${shown(refOf(claimed))}; leave ${field} out or send your own (use that principal's credentials to act as them)`,
      );
    }
  }
  return ok(true);
}
