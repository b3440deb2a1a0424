import type { NatsConnection } from '@nats-io/transport-node';
import { checkCanonicalSyntax } from '../adapters/terminals/canonical.ts';
import { readAuditPage } from '../adapters/audit/jetstream/auditPage.ts';
import type { BadgeStore } from '../adapters/bus/nats/badges.ts';
import type { Handoff, Share } from '../api/schemas.ts';
import { Verbs } from '../api/subjects.ts';
import { audited, ok, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PolicyAction } from '../machines/shareSession.ts';
import { Access, approvalTarget, handoffTarget, shareTarget, type Target } from './access.ts';
import type { Approvals } from './approvals.ts';
import type { ShareEffects } from './effects.ts';
import type { Handlers } from './endpoints.ts';
import type { Recordings } from '../recording/recordings.ts';
import type { Handoffs } from './handoffs.ts';
import { refOf, type Caller } from './identity.ts';
import type { Shares } from './shares.ts';
import { recordingVerbs } from './recordingVerbs.ts';

export type VerbDeps = { shares: Shares; approvals: Approvals; handoffs: Handoffs; access: Access; effects: ShareEffects; badges: BadgeStore; nc: NatsConnection; log?: Logger; recordings?: Recordings };

const wrap = <K extends string, T>(key: K, r: Result<T>): Result<Record<K, T>> => (r.ok ? ok({ [key]: r.value } as Record<K, T>) : r);
const same = (a: { kind: string; id: string }, b: { kind: string; id: string }) => a.kind === b.kind && a.id === b.id;

/** Each verb: who is asking comes from the caller, what they may do from the policy. */
export function verbHandlers(d: VerbDeps): Handlers {
  const { shares, approvals, handoffs, access, effects } = d;

  /** A policy check on what exists; a refusal is audited with the caller as the actor. */
  const gate = async (verb: string, action: PolicyAction, caller: Caller, target: Target, ids: { shareId?: string; handoffId?: string; correlationId?: string }): Promise<Result<true>> => {
    const r = await access.check(action, caller, target);
    if (!r.ok) await effects.refused({ verb, actor: refOf(caller), code: r.error.code, message: r.error.message, terminal: target.terminal, ...ids });
    return audited(r);
  };
  /** The link travels only to those the policy lets see it (`share.link`). */
  const withLinkFor = async (caller: Caller, s: Share): Promise<Share> => {
    if (!s.link || (await access.allows('share.link', caller, shareTarget(s)))) return s;
    const { link: _hidden, ...rest } = s;
    return rest;
  };
  /** The context packet goes to the lease holder alone. */
  const handoffFor = (caller: Caller, h: Handoff): Handoff => {
    if (!h.context || same(caller, h.to)) return h;
    const { context: _hidden, ...rest } = h;
    return rest;
  };
  /** A reference that reaches a session under another name is refused, and audited against that session: it may be a probe. */
  const aliasAudited = async <T>(verb: string, caller: Caller, correlationId: string | undefined, r: Result<T>): Promise<Result<T>> => {
    const canonical = r.ok ? undefined : r.error.details?.canonical;
    if (!r.ok && typeof canonical === 'string') {
      await effects.refused({ verb, actor: refOf(caller), code: r.error.code, message: r.error.message, terminal: canonical, correlationId });
      return audited(r);
    }
    return r;
  };
  const shareFor = async (caller: Caller, r: Result<Share>): Promise<Result<{ share: Share }>> => (r.ok ? ok({ share: await withLinkFor(caller, r.value) }) : r);
  const onShare = async (verb: string, action: PolicyAction, caller: Caller, shareId: string, correlationId?: string): Promise<Result<Share>> => {
    const s = shares.get(shareId);
    if (!s.ok) return s;
    // A refusal about a share carries its correlation id (unless the request gave one), outside its causation chain.
    const g = await gate(verb, action, caller, shareTarget(s.value), { shareId, correlationId: correlationId ?? s.value.correlationId });
    return g.ok ? s : g;
  };
  const onHandoff = async (verb: string, action: PolicyAction, caller: Caller, handoffId: string, correlationId?: string): Promise<Result<Handoff>> => {
    const h = handoffs.get(handoffId);
    if (!h.ok) return h;
    const g = await gate(verb, action, caller, handoffTarget(h.value), { handoffId, correlationId: correlationId ?? h.value.correlationId });
    return g.ok ? h : g;
  };

  return {
    // The one who starts a share is its owner and gets its link.
    [Verbs.shareStart]: async (r, caller) => wrap('share', await aliasAudited(Verbs.shareStart, caller, r.correlationId, await shares.start({ ...r, requester: caller }))),
    [Verbs.shareStop]: async (r, caller) => {
      const s = await onShare(Verbs.shareStop, 'share.stop', caller, r.shareId, r.correlationId);
      return s.ok ? shareFor(caller, await shares.end('STOP', r.shareId, caller, r.reason)) : s;
    },
    [Verbs.shareRevoke]: async (r, caller) => {
      const s = await onShare(Verbs.shareRevoke, 'share.revoke', caller, r.shareId, r.correlationId);
      return s.ok ? shareFor(caller, await shares.end('REVOKE', r.shareId, caller, r.reason)) : s;
    },
    [Verbs.shareExtend]: async (r, caller) => shareFor(caller, await shares.extend(r.shareId, r.ttlSeconds, caller)),
    // A switch hands out a new link: to the switcher only when the policy lets them see it.
    [Verbs.shareSwitch]: async (r, caller) => shareFor(caller, await shares.switch(r.shareId, r.backend, caller)),
    [Verbs.shareGet]: async (r, caller) => {
      const s = await onShare(Verbs.shareGet, 'share.get', caller, r.shareId);
      return s.ok ? ok({ share: await withLinkFor(caller, s.value) }) : s;
    },
    [Verbs.shareList]: async (r, caller) => {
      // An alias would match no share and read as "nothing shared"; it is refused naming the name to use.
      const filter = r.terminal === undefined ? ok(undefined) : checkCanonicalSyntax(r.terminal);
      if (!filter.ok) return filter;
      const visible = await access.filter(shares.list(r.terminal), 'share.list', caller, shareTarget);
      // The links the caller may see, decided for the whole list at once (as withLinkFor does for one).
      const linkSeen = new Set((await access.filter(visible.filter((s) => s.link), 'share.link', caller, shareTarget)).map((s) => s.id));
      return ok({ shares: visible.map(({ link, ...s }) => (link && linkSeen.has(s.id) ? { ...s, link } : s)) });
    },
    [Verbs.approvalDecide]: async (r, caller) => wrap('approval', await approvals.decide({ ...r, approver: caller })),
    [Verbs.approvalList]: async (r, caller) => ok({ approvals: await access.filter(approvals.list(r.state), 'approval.list', caller, approvalTarget) }),
    [Verbs.handoffRequest]: async (r, caller) => {
      const h = await aliasAudited(Verbs.handoffRequest, caller, r.correlationId, await handoffs.request({ ...r, requester: caller }));
      return h.ok ? ok({ handoff: handoffFor(caller, h.value) }) : h;
    },
    [Verbs.handoffGet]: async (r, caller) => {
      const h = await onHandoff(Verbs.handoffGet, 'handoff.get', caller, r.handoffId);
      return h.ok ? ok({ handoff: handoffFor(caller, h.value) }) : h;
    },
    [Verbs.handoffRelease]: async (r, caller) => {
      const h = await onHandoff(Verbs.handoffRelease, 'handoff.release', caller, r.handoffId, r.correlationId);
      if (!h.ok) return h;
      const released = await handoffs.release(r.handoffId, caller);
      return released.ok ? ok({ handoff: handoffFor(caller, released.value) }) : released;
    },
    [Verbs.terminalContext]: async (r, caller) => {
      const h = await onHandoff(Verbs.terminalContext, 'terminal.context', caller, r.handoffId);
      return h.ok ? handoffs.context({ ...r, requester: caller }) : h;
    },
    [Verbs.terminalScreen]: async (r, caller) => {
      const h = await onHandoff(Verbs.terminalScreen, 'terminal.screen', caller, r.handoffId);
      return h.ok ? handoffs.screen({ ...r, requester: caller }) : h;
    },
    [Verbs.terminalInput]: async (r, caller) => {
      const h = await onHandoff(Verbs.terminalInput, 'terminal.input', caller, r.handoffId);
      return h.ok ? handoffs.input({ ...r, requester: caller }) : h;
    },
    [Verbs.badgeList]: async (_r, caller) => {
      const badges = await d.badges.list((key, why) => d.log?.warn({ key, why }, 'skipped a value in the badge bucket that is not a badge'));
      return ok({ badges: await access.filter(badges, 'share.list', caller, (b) => ({ terminal: b.terminal, backend: 'upterm', access: 'read-only', ttlSeconds: 0 })) });
    },
    [Verbs.auditRead]: async (r, caller) => {
      const g = await gate(Verbs.auditRead, 'audit.read', caller, { terminal: 'tmux:audit-trail', backend: 'upterm', access: 'read-only', ttlSeconds: 0 }, {});
      return g.ok ? ok(await readAuditPage(d.nc, r.afterSeq ?? 0, r.limit ?? 500)) : g;
    },
    ...recordingVerbs(d, gate),
  };
}
