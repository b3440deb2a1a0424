import type { ServiceMsg } from '@nats-io/services';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Principals } from '../../adapters/bus/nats/auth/principals.ts';
import { RequestSchemas } from '../../api/jsonSchema.ts';
import type { Subjects, Verb } from '../../api/subjects.ts';
import { parseRequest } from '../../api/validate.ts';
import { ErrorCodes, TermshareError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { REQUEST_INFO_HEADER, callerOf } from '../identity.ts';
import { GatheredVerbs, askOwners, queryOf, type OwnsCheck, type OwnerQuery } from './owners.ts';

/**
 * The identity the NATS server stamped on a request, carried from the node that took it to the node
 * that answers it. Only termshare nodes can publish on `<prefix>.node.>` (the service account's own
 * subjects, never exported to principals), so the owner trusts this header there and nowhere else,
 * maps the key to a principal itself and applies its own policy gate: forwarding is no way around either.
 */
export const FORWARDED_INFO_HEADER = 'Termshare-Request-Info';

/** The headers a forwarded request is answered with: the original caller's identity as the owner reads it. */
export function forwardedIdentity(h: MsgHdrs | undefined): MsgHdrs {
  const out = natsHeaders();
  const info = h?.get(FORWARDED_INFO_HEADER);
  if (info) out.set(REQUEST_INFO_HEADER, info);
  return out;
}

export type RouterDeps = {
  nc: NatsConnection;
  subs: Subjects;
  node: string;
  /** The other nodes now live. */
  peers: () => string[];
  owns: OwnsCheck;
  principals: Principals;
  /** Answers the request here, as a single node does. */
  local: (msg: ServiceMsg, verb: Verb) => Promise<void>;
  /** Refuses the request here (through the same door: identity checked, refusal audited). */
  refuse: (msg: ServiceMsg, verb: Verb, e: TermshareError) => Promise<void>;
  /** How long a forwarded request may take (a share start waits for its link). */
  forwardTimeoutMs: number;
  /** How long a node has to say whether it owns something, or to answer its part of a list. */
  askTimeoutMs: number;
  log: Logger;
};

/**
 * One node of the queue group took a v1 request: it answers it itself when it owns what the request
 * is about (or when nobody else is live), forwards it to the one node that owns it, or gathers a list
 * from every live node. Either way the caller gets exactly one reply.
 */
export class Router {
  constructor(private readonly d: RouterDeps) {}

  async route(msg: ServiceMsg, verb: Verb): Promise<void> {
    const peers = this.d.peers();
    if (peers.length === 0) return this.d.local(msg, verb);
    if (GatheredVerbs[verb]) return this.gather(msg, verb, peers);
    const q = queryOf(verb, safeJson(msg.data));
    if (!q) return this.d.local(msg, verb);
    if (q.node !== undefined) return this.toNamedNode(msg, verb, q.node, peers);
    const mine = await this.d.owns(q).catch(() => false);
    // A share, handoff or approval lives on one node; a terminal name may be on several, so all are asked.
    if (mine && !('terminal' in q)) return this.d.local(msg, verb);
    const asked = await askOwners(this.d.nc, this.d.subs, peers, q, this.d.askTimeoutMs);
    const owners = [...(mine ? [this.d.node] : []), ...asked.owners];
    // Nobody here owns it, but a live node did not say: it may be that node's, so nothing is guessed.
    if (owners.length === 0 && asked.silent.length > 0) return this.d.refuse(msg, verb, silentNodes(verb, asked.silent));
    if (owners.length === 0 || (owners.length === 1 && owners[0] === this.d.node)) return this.d.local(msg, verb);
    if (owners.length === 1) return this.forward(msg, verb, owners[0]!);
    return this.d.refuse(msg, verb, ambiguous(q, owners));
  }

  private toNamedNode(msg: ServiceMsg, verb: Verb, node: string, peers: string[]): Promise<void> {
    if (node === this.d.node) return this.d.local(msg, verb);
    if (peers.includes(node)) return this.forward(msg, verb, node);
    return this.d.refuse(msg, verb, new TermshareError(ErrorCodes.notFound, `node ${JSON.stringify(node)} is not live in this cluster (live: ${[this.d.node, ...peers].join(', ')}); name a live node, or leave node out`, { node }));
  }

  /** Sends the request to its owner and relays the owner's reply (body and error headers) as it is. */
  private async forward(msg: ServiceMsg, verb: Verb, owner: string): Promise<void> {
    try {
      const reply = await this.d.nc.request(this.d.subs.node(owner, verb), msg.data, { headers: this.forwardHeaders(msg), timeout: this.d.forwardTimeoutMs });
      msg.respond(reply.data, reply.headers ? { headers: reply.headers } : {});
    } catch (e) {
      this.d.log.warn({ verb, owner, err: (e as Error).message }, 'forwarded request not answered');
      await this.d.refuse(msg, verb, new TermshareError(ErrorCodes.backendUnavailable, `node ${owner}, which owns what ${verb} is about, did not answer (${(e as Error).message}); try again: if it is gone, its shares are reported lost within TERMSHARE_NODE_TIMEOUT`, { node: owner }));
    }
  }

  /**
   * A list of the whole cluster: each live node answers for what it holds (each entry tagged with its
   * node), and the reply names the nodes that did not answer. A caller the door refuses, or a body that
   * does not parse, is refused here, once.
   */
  private async gather(msg: ServiceMsg, verb: Verb, peers: string[]): Promise<void> {
    const key = GatheredVerbs[verb]!;
    const caller = await callerOf(msg.headers, this.d.principals);
    if (!caller.ok || !parseRequest(RequestSchemas[verb], msg.data, verb).ok) return this.d.local(msg, verb);
    const nodes = [this.d.node, ...peers];
    const parts = await Promise.all(
      nodes.map(async (n) => {
        try {
          const m = await this.d.nc.request(this.d.subs.node(n, verb), msg.data, { headers: this.forwardHeaders(msg), timeout: this.d.askTimeoutMs });
          return { node: n, m };
        } catch {
          return { node: n, m: undefined };
        }
      }),
    );
    const items: unknown[] = [];
    const answered: string[] = [];
    const unreachable: string[] = [];
    for (const { node, m } of parts) {
      // This node's own refusal (an alias as a filter, say) is the answer, as on a single node.
      if (node === this.d.node && m?.headers?.get('Nats-Service-Error-Code')) return void msg.respond(m.data, { headers: m.headers });
      const list = m && !m.headers?.get('Nats-Service-Error-Code') ? (safeJson(m.data) as Record<string, unknown> | undefined)?.[key] : undefined;
      if (!Array.isArray(list)) {
        unreachable.push(node);
        continue;
      }
      answered.push(node);
      for (const x of list) items.push({ ...(x as object), node });
    }
    msg.respond(JSON.stringify({ [key]: items, nodes: answered, unreachable }));
  }

  private forwardHeaders(msg: ServiceMsg): MsgHdrs {
    const h = natsHeaders();
    const info = msg.headers?.get(REQUEST_INFO_HEADER);
    if (info) h.set(FORWARDED_INFO_HEADER, info);
    h.set('Termshare-Via', this.d.node);
    return h;
  }
}

function silentNodes(verb: Verb, nodes: string[]): TermshareError {
  return new TermshareError(ErrorCodes.backendUnavailable, `no node that answered owns what ${verb} is about, and node(s) ${nodes.join(', ')} did not answer in time; try again shortly`, { nodes });
}

function ambiguous(q: OwnerQuery, owners: string[]): TermshareError {
  const what = 'terminal' in q ? `terminal ${q.terminal}` : JSON.stringify(q);
  return new TermshareError(ErrorCodes.conflict, `${what} exists on several nodes (${owners.sort().join(', ')}); say which with "node": one of them`, { nodes: owners });
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
