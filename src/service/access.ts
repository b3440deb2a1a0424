import type { PolicyGate, PolicyQuery } from '../adapters/policy/types.ts';
import type { Approval, Handoff, Requester, Share } from '../api/schemas.ts';
import type { PolicyAction } from '../machines/shareSession.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';

/** What a verb acts on, as the policy sees it: the terminal, the share's terms, and whose it is. */
export type Target = Omit<PolicyQuery, 'action' | 'requester'>;

const secondsLeft = (iso?: string) => (iso ? Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000)) : 0);

export const shareTarget = (s: Share): Target => ({
  terminal: s.terminal,
  backend: s.backend,
  access: s.access,
  ttlSeconds: secondsLeft(s.expiresAt),
  owner: s.requester,
});
/** A handoff is a lease on the terminal's input: read-write, whoever holds it. */
export const handoffTarget = (h: Handoff): Target => ({ terminal: h.terminal, backend: 'upterm', access: 'read-write', ttlSeconds: 0, owner: h.from, target: h.to });
export const approvalTarget = (a: Approval): Target => ({ terminal: a.terminal, backend: 'upterm', access: 'read-write', ttlSeconds: 0, owner: a.requester });

/**
 * Authorization for the verbs that act on something that exists (stop, revoke, get, list,
 * release, the lease holder's terminal verbs): each is a policy action, deny by default. A
 * permit that would need approvals does not count here: these cannot wait.
 */
export class Access {
  constructor(private readonly gate: PolicyGate) {}

  async check(action: PolicyAction, caller: Requester, target: Target): Promise<Result<true>> {
    const d = await this.gate.decide({ ...target, action, requester: { kind: caller.kind, id: caller.id } });
    if (d.decision === 'allow') return ok(true);
    const message =
      d.decision === 'approval'
        ? `policy ${d.policies.join(', ')} permits ${action} only with approvals, which this verb cannot wait for; permit it without @approvals`
        : d.message;
    return err(new TermshareError(ErrorCodes.policyDenied, message, { policies: d.policies }));
  }

  async allows(action: PolicyAction, caller: Requester, target: Target): Promise<boolean> {
    return (await this.check(action, caller, target)).ok;
  }

  /** The items the caller may see under `action`, in order. */
  async filter<T>(items: T[], action: PolicyAction, caller: Requester, targetOf: (t: T) => Target): Promise<T[]> {
    const requester = { kind: caller.kind, id: caller.id };
    const seen = this.gate.permitsAll
      ? await this.gate.permitsAll(items.map((i) => ({ ...targetOf(i), action, requester })))
      : await Promise.all(items.map((i) => this.allows(action, caller, targetOf(i))));
    return items.filter((_, n) => seen[n]);
  }
}

/** The broadcasts as a policy resource (`events.read` on `EventStream::"termshare"`). */
const EVENT_STREAM: Target = { terminal: 'tmux:event-stream', backend: 'upterm', access: 'read-only', ttlSeconds: 0 };

/** For the accounts file: may this principal (`human:<id>`) subscribe to events and badge changes? */
export const eventsReadCheck =
  (gate: PolicyGate) =>
  async (principal: string): Promise<boolean> => {
    const [kind, ...id] = principal.split(':');
    return (await new Access(gate).check('events.read', { kind: kind as Requester['kind'], id: id.join(':') }, EVENT_STREAM)).ok;
  };
