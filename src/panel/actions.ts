import { z } from 'zod';
import { Verbs, type Verb } from '../api/subjects.ts';
import type { Share } from '../api/schemas.ts';
import type { TermshareClient } from '../cli/client.ts';

const ShareId = z.string().min(1).max(200);
const Note = z.string().max(500).optional();

/** What the page may ask the panel to do: each one verb of the service, nothing else. */
export const PanelAction = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('extend'), shareId: ShareId, ttlSeconds: z.number().int().min(1).max(604800) }),
  z.strictObject({ action: z.literal('revoke'), shareId: ShareId, reason: Note }),
  z.strictObject({ action: z.literal('stop'), shareId: ShareId }),
  z.strictObject({ action: z.literal('approve'), approvalId: ShareId, comment: Note }),
  z.strictObject({ action: z.literal('reject'), approvalId: ShareId, comment: Note }),
  z.strictObject({ action: z.literal('link'), shareId: ShareId }),
]);
export type PanelAction = z.infer<typeof PanelAction>;

export type ActionResult = { ok: true; message: string; link?: string } | { ok: false; code: string; message: string };

/** The verb and body an action is, exactly what the CLI sends for the same command. */
export function requestOf(a: PanelAction): { verb: Verb; body: Record<string, unknown> } {
  switch (a.action) {
    case 'extend':
      return { verb: Verbs.shareExtend, body: { shareId: a.shareId, ttlSeconds: a.ttlSeconds } };
    case 'revoke':
      return { verb: Verbs.shareRevoke, body: { shareId: a.shareId, ...(a.reason ? { reason: a.reason } : {}) } };
    case 'stop':
      return { verb: Verbs.shareStop, body: { shareId: a.shareId } };
    case 'approve':
    case 'reject':
      return { verb: Verbs.approvalDecide, body: { approvalId: a.approvalId, decision: a.action, ...(a.comment ? { comment: a.comment } : {}) } };
    case 'link':
      return { verb: Verbs.shareGet, body: { shareId: a.shareId } };
  }
}

const DONE: Record<PanelAction['action'], string> = {
  extend: 'extended',
  revoke: 'revoked: every participant is disconnected',
  stop: 'stopped',
  approve: 'approved',
  reject: 'rejected',
  link: 'link shown',
};

/**
 * Runs an action through the service as the panel's principal: the same NATS endpoint and policy
 * as the CLI. A refusal comes back as the service's code and message, to be shown as it is.
 */
export async function runAction(client: TermshareClient, a: PanelAction): Promise<ActionResult> {
  const { verb, body } = requestOf(a);
  let r;
  try {
    r = await client.request<{ share?: Share }>(verb, body, 30_000);
  } catch (e) {
    return { ok: false, code: 'unreachable', message: `no termshare service answered ${verb}: ${(e as Error).message}; is \`termshare serve\` running?` };
  }
  if (!r.ok) return { ok: false, code: r.code, message: r.message };
  const target = 'shareId' in a ? a.shareId : a.approvalId;
  if (a.action !== 'link') return { ok: true, message: `${target} ${DONE[a.action]}` };
  const link = r.value.share?.link?.ssh;
  if (!link) return { ok: false, code: 'policy_denied', message: `${target}'s link is not shown to ${client.principal}: the policy does not permit share.link on it, or the share has none now` };
  return { ok: true, message: `${target} ${DONE.link}`, link };
}
