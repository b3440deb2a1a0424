import { z } from 'zod';
import { INPUT_KEY } from '../adapters/terminals/types.ts';

/** Longest share a request may ask for: a week. Anything longer is almost surely a unit mistake. */
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The characters a terminal reference may hold. Target syntax (`.`, `:`, `=`, `$`) gets through here
 * so the adapter's resolution can refuse it naming the session meant (see terminals/canonical.ts).
 */
const TERMINAL_REF = /^(tmux|zellij):[A-Za-z0-9_.@%+=,:$-]{1,128}$/;
export const TerminalRef = z
  .string()
  .max(200, 'a terminal reference is at most 200 characters')
  .regex(TERMINAL_REF, {
    error: (issue) => {
      const ref = typeof issue.input === 'string' ? issue.input : '';
      const trimmed = ref.trim();
      return trimmed !== ref && TERMINAL_REF.test(trimmed)
        ? `terminal ${JSON.stringify(ref)} has whitespace around it; use ${trimmed}`
        : 'a terminal is "tmux:<session>" or "zellij:<session>" (letters, digits and _@%+=,- only)';
    },
  });
export type TerminalRef = z.infer<typeof TerminalRef>;

export const Backend = z.enum(['upterm', 'tmate']);
export type Backend = z.infer<typeof Backend>;
export const Access = z.enum(['read-only', 'read-write']);
export type Access = z.infer<typeof Access>;

export const Requester = z.strictObject({
  kind: z.enum(['human', 'ai']),
  id: z.string().min(1).max(256),
});
export type Requester = z.infer<typeof Requester>;

const TtlSeconds = z
  .number()
  .int('ttlSeconds must be a whole number of seconds')
  .positive('ttlSeconds must be at least 1')
  .max(MAX_TTL_SECONDS, `ttlSeconds must be at most ${MAX_TTL_SECONDS} (7 days)`);

const CorrelationId = z.string().min(1).max(128).optional();
/** A node of the cluster (TERMSHARE_NODE): one NATS subject token. */
export const NodeName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a node is a name like "ws-1" (letters, digits, _ and -), as listed in each share\'s `node`');
const ShareId = z.string().regex(/^sh_[A-Za-z0-9]{6,40}$/, 'a share id looks like "sh_..." as returned by share.start');

export const ShareStartRequest = z.strictObject({
  terminal: TerminalRef,
  backend: Backend,
  ttlSeconds: TtlSeconds.optional(),
  access: Access.optional(),
  requester: Requester.optional(),
  reason: z.string().max(1000).optional(),
  correlationId: CorrelationId,
  /** Record the share as an asciicast (a policy may also require it). */
  record: z.boolean().optional(),
  /** In a cluster: the node whose terminal is meant, when a session of that name is on several nodes. */
  node: NodeName.optional(),
});
export const ShareStopRequest = z.strictObject({ shareId: ShareId, requester: Requester.optional(), reason: z.string().max(1000).optional(), correlationId: CorrelationId });
export const ShareExtendRequest = z.strictObject({
  shareId: ShareId,
  ttlSeconds: TtlSeconds,
  requester: Requester.optional(),
  correlationId: CorrelationId,
});
export const ShareRevokeRequest = z.strictObject({
  shareId: ShareId,
  requester: Requester.optional(),
  reason: z.string().max(1000).optional(),
  correlationId: CorrelationId,
});
export const ShareSwitchRequest = z.strictObject({
  shareId: ShareId,
  backend: Backend,
  requester: Requester.optional(),
  correlationId: CorrelationId,
});
const ApprovalId = z.string().regex(/^ap_[A-Za-z0-9]{6,40}$/, 'an approval id looks like "ap_..." as in the share\'s approvalId');
export const ApprovalDecideRequest = z.strictObject({
  approvalId: ApprovalId,
  approver: Requester.optional(),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(1000).optional(),
});
export const ApprovalState = z.enum(['pending', 'approved', 'rejected', 'timed-out', 'withdrawn']);
export const ApprovalListRequest = z.strictObject({ state: ApprovalState.optional() });
export const BadgeListRequest = z.strictObject({});
/** A page of the audit trail, oldest first, from stream sequence `afterSeq` + 1. */
export const AuditReadRequest = z.strictObject({
  afterSeq: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});
export const Approval = z.object({
  id: z.string(),
  state: ApprovalState,
  shareId: z.string().optional(),
  handoffId: z.string().optional(),
  terminal: TerminalRef,
  requester: Requester,
  requirement: z.object({ policy: z.string(), approvals: z.number(), approvers: z.array(z.string()), ordered: z.boolean(), timeoutSeconds: z.number() }),
  decisions: z.array(z.object({ approver: Requester, decision: z.enum(['approve', 'reject']), comment: z.string().optional(), at: z.string() })),
  createdAt: z.string(),
  expiresAt: z.string(),
  correlationId: z.string(),
  /** In a cluster's lists: the node that holds it. */
  node: z.string().optional(),
});
export type Approval = z.infer<typeof Approval>;

const HandoffId = z.string().regex(/^ho_[A-Za-z0-9]{6,40}$/, 'a handoff id looks like "ho_..." as returned by handoff.request');
export const HandoffRequest = z.strictObject({
  terminal: TerminalRef,
  to: Requester,
  requester: Requester.optional(),
  reason: z.string().max(1000).optional(),
  correlationId: CorrelationId,
  /** Record the lease (output and the holder's input) as an asciicast. */
  record: z.boolean().optional(),
  /** In a cluster: the node whose terminal is meant, when a session of that name is on several nodes. */
  node: NodeName.optional(),
});
export const HandoffGetRequest = z.strictObject({ handoffId: HandoffId });
export const HandoffReleaseRequest = z.strictObject({ handoffId: HandoffId, requester: Requester.optional(), correlationId: CorrelationId });
export const TerminalContextRequest = z.strictObject({ terminal: TerminalRef, handoffId: HandoffId, requester: Requester.optional() });
export const TerminalScreenRequest = TerminalContextRequest;
export const TerminalInputRequest = z
  .strictObject({
    terminal: TerminalRef,
    handoffId: HandoffId,
    requester: Requester.optional(),
    text: z.string().max(10_000).optional(),
    keys: z
      .array(z.string().regex(INPUT_KEY, 'a key is a tmux key name such as Enter, Escape, Tab, Up, C-c or F5'))
      .max(100)
      .optional(),
  })
  .refine((r) => r.text !== undefined || (r.keys?.length ?? 0) > 0, { message: 'send text, keys, or both' });

export const TerminalContextSchema = z.object({
  cwd: z.string(),
  env: z.record(z.string(), z.string()),
  command: z.string(),
  scrollback: z.array(z.string()),
  size: z.object({ cols: z.number(), rows: z.number() }),
});
export const HandoffState = z.enum(['requested', 'awaiting-approval', 'transferring', 'held', 'releasing', 'released', 'denied', 'rejected', 'failed', 'withdrawn', 'closed']);
export const Handoff = z.object({
  id: z.string(),
  terminal: TerminalRef,
  from: Requester,
  to: Requester,
  state: HandoffState,
  approvalId: z.string().optional(),
  context: TerminalContextSchema.optional(),
  correlationId: z.string(),
  createdAt: z.string(),
  reason: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type Handoff = z.infer<typeof Handoff>;

export const ShareGetRequest = z.strictObject({ shareId: ShareId });
export const ShareListRequest = z.strictObject({ terminal: TerminalRef.optional() });

export const ShareState = z.enum([
  'awaiting-approval',
  'starting',
  'active',
  'expiring',
  'expired',
  'revoked',
  'stopped',
  'denied',
  'failed',
]);
export type ShareState = z.infer<typeof ShareState>;

export const ShareLink = z.object({
  ssh: z.string(),
  sshReadOnly: z.string().optional(),
  web: z.string().optional(),
  webReadOnly: z.string().optional(),
});
export type ShareLink = z.infer<typeof ShareLink>;

export const Participant = z.object({ id: z.string(), since: z.string() });
export type Participant = z.infer<typeof Participant>;

export const Share = z.object({
  id: z.string(),
  terminal: TerminalRef,
  backend: Backend,
  access: Access,
  state: ShareState,
  link: ShareLink.optional(),
  linkHash: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  participants: z.number().int(),
  correlationId: z.string(),
  approvalId: z.string().optional(),
  requester: Requester,
  endReason: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** In a cluster's lists: the node that owns it. */
  node: z.string().optional(),
});
export type Share = z.infer<typeof Share>;

export const EventBody = z.object({
  type: z.string(),
  eventId: z.string(),
  at: z.string(),
  correlationId: z.string(),
  causationId: z.string().optional(),
  actor: z.string(),
  shareId: z.string().optional(),
  handoffId: z.string().optional(),
  terminal: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
export type EventBody = z.infer<typeof EventBody>;

export const AuditRecord = z.object({
  eventId: z.string(),
  at: z.string(),
  action: z.string(),
  actor: z.string(),
  correlationId: z.string(),
  causationId: z.string().optional(),
  shareId: z.string().optional(),
  handoffId: z.string().optional(),
  terminal: z.string().optional(),
  outcome: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  /** The node that wrote it: each node's records form one chain of their own. Absent on records of a single-chain trail. */
  node: z.string().optional(),
  prevHash: z.string(),
  hash: z.string(),
  /** Fingerprint of the service's audit public key (`ed25519:<16 hex>`) that signed `hash`. */
  keyId: z.string().optional(),
  /** base64url ed25519 signature over `hash`; absent on records written before records were signed. */
  sig: z.string().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export const Badge = z.object({
  terminal: TerminalRef,
  /** The node whose terminal it is: a node's loss clears its badges. */
  node: z.string().optional(),
  badge: z.string(),
  shares: z.array(
    z.object({
      shareId: z.string(),
      backend: Backend,
      access: Access,
      state: ShareState,
      expiresAt: z.string().optional(),
      participants: z.number().int(),
    }),
  ),
});
export type Badge = z.infer<typeof Badge>;

const RecordingId = z.string().regex(/^rec_[A-Za-z0-9]{6,40}$/, 'a recording id looks like "rec_..." as listed by recording.list');
export const RecordingListRequest = z.strictObject({ terminal: TerminalRef.optional(), shareId: ShareId.optional(), handoffId: HandoffId.optional() });
/** A recording's cast, page by page: the chunks after stream sequence `afterSeq`. */
export const RecordingReadRequest = z.strictObject({ recordingId: RecordingId, afterSeq: z.number().int().min(0).optional() });
export const Recording = z.object({
  id: z.string(),
  terminal: z.string(),
  shareId: z.string().optional(),
  handoffId: z.string().optional(),
  correlationId: z.string(),
  startedAt: z.string(),
  input: z.boolean(),
  /** Absent while recording, or when the service stopped before it ended (what was stored stays readable). */
  end: z.object({ endedAt: z.string(), sha256: z.string(), bytes: z.number(), events: z.number(), outcome: z.string() }).optional(),
});
export type Recording = z.infer<typeof Recording>;
