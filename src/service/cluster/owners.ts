import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { Verbs, type Subjects, type Verb } from '../../api/subjects.ts';

/** What a request is about, for finding the node that owns it. */
export const OwnerQuery = z.union([
  z.strictObject({ shareId: z.string().max(64) }),
  z.strictObject({ handoffId: z.string().max(64) }),
  z.strictObject({ approvalId: z.string().max(64) }),
  z.strictObject({ terminal: z.string().max(200) }),
]);
export type OwnerQuery = z.infer<typeof OwnerQuery>;

/** Does this node own it? A share, handoff or approval it holds; a terminal its multiplexer holds. */
export type OwnsCheck = (q: OwnerQuery) => Promise<boolean>;

/** The verbs whose answer is the whole cluster's (scatter-gather), with the list each reply holds. */
export const GatheredVerbs: Partial<Record<Verb, 'shares' | 'approvals' | 'badges'>> = {
  [Verbs.shareList]: 'shares',
  [Verbs.approvalList]: 'approvals',
  [Verbs.badgeList]: 'badges',
};

/** What a request about one thing is about; undefined for verbs any node answers (the audit trail) or a body that is not an object. */
export function queryOf(verb: Verb, body: unknown): (OwnerQuery & { node?: string }) | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
  const node = str('node');
  switch (verb) {
    case Verbs.shareStart:
    case Verbs.handoffRequest:
      return str('terminal') ? { terminal: str('terminal')!, ...(node ? { node } : {}) } : undefined;
    case Verbs.shareStop:
    case Verbs.shareRevoke:
    case Verbs.shareExtend:
    case Verbs.shareSwitch:
    case Verbs.shareGet:
      return str('shareId') ? { shareId: str('shareId')! } : undefined;
    case Verbs.approvalDecide:
      return str('approvalId') ? { approvalId: str('approvalId')! } : undefined;
    case Verbs.handoffGet:
    case Verbs.handoffRelease:
    case Verbs.terminalContext:
    case Verbs.terminalInput:
    case Verbs.terminalScreen:
      return str('handoffId') ? { handoffId: str('handoffId')! } : undefined;
    default:
      return undefined;
  }
}

/** Asks each of `nodes` whether it owns `q`: those that say yes, and those that did not answer in time. */
export async function askOwners(nc: NatsConnection, subs: Subjects, nodes: string[], q: OwnerQuery, timeoutMs: number): Promise<{ owners: string[]; silent: string[] }> {
  const answers = await Promise.all(
    nodes.map(async (n) => {
      try {
        const m = await nc.request(subs.nodeOwns(n), JSON.stringify(q), { timeout: timeoutMs });
        return { n, owns: m.json<{ owns?: unknown }>().owns === true };
      } catch {
        return { n, owns: undefined };
      }
    }),
  );
  return { owners: answers.filter((a) => a.owns === true).map((a) => a.n), silent: answers.filter((a) => a.owns === undefined).map((a) => a.n) };
}

/** Answers `<prefix>.node.<node>.owns` for this node. */
export function serveOwns(nc: NatsConnection, subs: Subjects, node: string, owns: OwnsCheck): { unsubscribe(): void } {
  return nc.subscribe(subs.nodeOwns(node), {
    callback: (_e, m) => {
      let q: OwnerQuery | undefined;
      try {
        const parsed = OwnerQuery.safeParse(m.json());
        q = parsed.success ? parsed.data : undefined;
      } catch {
        q = undefined;
      }
      if (!q) return void m.respond(JSON.stringify({ owns: false }));
      void owns(q).then(
        (yes) => m.respond(JSON.stringify({ owns: yes })),
        () => m.respond(JSON.stringify({ owns: false })),
      );
    },
  });
}
