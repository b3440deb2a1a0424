import type { PolicyDecision, PolicyQuery } from '../../machines/shareSession.ts';

export type { PolicyDecision, PolicyQuery };

/** Deny by default: anything a gate cannot positively permit is denied, with a reason an operator can act on. */
export interface PolicyGate {
  decide(query: PolicyQuery): Promise<PolicyDecision>;
  /** Optional batch: whether each query is allowed outright (what `decide(q).decision === 'allow'` says), cheaper for many. */
  permitsAll?(queries: PolicyQuery[]): Promise<boolean[]>;
  /** Every Group the principal is in, directly or through other groups. */
  groupsOf(principal: { kind: 'human' | 'ai'; id: string }): Promise<string[]>;
}
