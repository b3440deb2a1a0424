/** Every subject, verb and event type of the public contract, spelled once. */
export const DEFAULT_PREFIX = 'termshare';

export const Verbs = {
  shareStart: 'share.start',
  shareStop: 'share.stop',
  shareExtend: 'share.extend',
  shareRevoke: 'share.revoke',
  shareSwitch: 'share.switch',
  shareGet: 'share.get',
  shareList: 'share.list',
  approvalDecide: 'approval.decide',
  approvalList: 'approval.list',
  handoffRequest: 'handoff.request',
  handoffGet: 'handoff.get',
  handoffRelease: 'handoff.release',
  terminalContext: 'terminal.context',
  terminalInput: 'terminal.input',
  terminalScreen: 'terminal.screen',
  badgeList: 'badge.list',
  /** Not `audit.*`: that is the audit stream's own subject space. */
  auditRead: 'auditlog.read',
  /** Session recordings (src/recording): the list, and a recording's cast page by page. */
  recordingList: 'recording.list',
  recordingRead: 'recording.read',
} as const;
export type Verb = (typeof Verbs)[keyof typeof Verbs];

export const ShareEventTypes = {
  requested: 'requested',
  approved: 'approved',
  denied: 'denied',
  active: 'active',
  expiring: 'expiring',
  extended: 'extended',
  expired: 'expired',
  revoked: 'revoked',
  stopped: 'stopped',
  failed: 'failed',
  switched: 'switched',
  participantJoined: 'participant-joined',
  participantLeft: 'participant-left',
  workerRestarted: 'worker-restarted',
  /** The backend reconnected to its relay by itself and shows a new link (tmate). */
  relinked: 'relinked',
  switchFailed: 'switch-failed',
  awaitingApproval: 'awaiting-approval',
} as const;
export type ShareEventType = (typeof ShareEventTypes)[keyof typeof ShareEventTypes];

export const HandoffEventTypes = {
  requested: 'requested',
  denied: 'denied',
  awaitingApproval: 'awaiting-approval',
  approved: 'approved',
  rejected: 'rejected',
  transferred: 'transferred',
  released: 'released',
  failed: 'failed',
  withdrawn: 'withdrawn',
  closed: 'closed',
} as const;
export type HandoffEventType = (typeof HandoffEventTypes)[keyof typeof HandoffEventTypes];

export const ApprovalEventTypes = {
  requested: 'requested',
  decided: 'decided',
  approved: 'approved',
  rejected: 'rejected',
  timedOut: 'timed-out',
  withdrawn: 'withdrawn',
} as const;
export type ApprovalEventType = (typeof ApprovalEventTypes)[keyof typeof ApprovalEventTypes];

export const AuditActions = {
  request: 'request',
  start: 'start',
  deny: 'deny',
  stop: 'stop',
  extend: 'extend',
  revoke: 'revoke',
  expire: 'expire',
  expiring: 'expiring',
  fail: 'fail',
  workerCrash: 'worker.crash',
  workerRestart: 'worker.restart',
  backendRelink: 'backend.relink',
  participantJoin: 'participant.join',
  participantLeave: 'participant.leave',
  terminalClosed: 'terminal.closed',
  switch: 'switch',
  approvalRequest: 'approval.request',
  approvalDecide: 'approval.decide',
  approvalApproved: 'approval.approved',
  approvalRejected: 'approval.rejected',
  approvalTimeout: 'approval.timeout',
  approvalWithdrawn: 'approval.withdrawn',
  handoffRequest: 'handoff.request',
  handoffDeny: 'handoff.deny',
  handoffTransfer: 'handoff.transfer',
  handoffRelease: 'handoff.release',
  handoffEnd: 'handoff.end',
  /** A request refused before it reached a share: an identity that does not match, or a policy denial of a verb on what exists. */
  refused: 'request.refused',
  /** NATS was unreachable past TERMSHARE_PARTITION_TIMEOUT (outcome `partitioned`: every share ended), and back (`reconnected`). */
  servicePartition: 'service.partition',
  terminalInput: 'terminal.input',
  /** A share's or lease's recording was stored (data: recordingId, sha256 of the cast, bytes, events) or could not be. */
  recording: 'recording',
} as const;
export type AuditAction = (typeof AuditActions)[keyof typeof AuditActions];

export const AUDIT_STREAM = 'TERMSHARE_AUDIT';
export const BADGE_BUCKET = 'termshare_badges';
/** Session recordings, on `<prefix>.recordings.<id>.{header,chunk,end}` (not `recording.*`: the verbs). */
export const RECORDING_STREAM = 'TERMSHARE_RECORDINGS';
export const SERVICE_NAME = 'termshare';
/** Every node answers the v1 request subjects in this queue group: each request is taken by exactly one node. */
export const QUEUE_GROUP = 'termshare';
/** One key per node: its heartbeat and the shares it has live (see src/service/cluster/presence.ts). */
export const NODE_BUCKET = 'termshare_nodes';

export function subjects(prefix = DEFAULT_PREFIX) {
  return {
    request: (verb: Verb) => `${prefix}.${verb}`,
    shareEvent: (shareId: string, type: ShareEventType) => `${prefix}.events.share.${shareId}.${type}`,
    shareEvents: `${prefix}.events.share.>`,
    handoffEvent: (handoffId: string, type: HandoffEventType) => `${prefix}.events.handoff.${handoffId}.${type}`,
    policyEvent: (type: 'reloaded' | 'rejected') => `${prefix}.events.policy.file.${type}`,
    /** The service's own events: `partition` (NATS is back after a partition that ended every share). */
    serviceEvent: (type: 'partition') => `${prefix}.events.service.${type}`,
    approvalEvent: (approvalId: string, type: ApprovalEventType) => `${prefix}.events.approval.${approvalId}.${type}`,
    audit: (action: AuditAction) => `${prefix}.audit.${action}`,
    /** One node's audit chain: each node writes only its own subjects, so concurrent writers never fork a chain. */
    nodeAudit: (node: string, action: AuditAction) => `${prefix}.audit.node.${node}.${action}`,
    nodeAuditAll: (node: string) => `${prefix}.audit.node.${node}.>`,
    /** A verb on one node only (service account only: principals reach the v1 subjects, never these). */
    node: (node: string, verb: Verb) => `${prefix}.node.${node}.${verb}`,
    /** Asked of each node: does it own this share, handoff, approval or terminal? */
    nodeOwns: (node: string) => `${prefix}.node.${node}.owns`,
    auditAll: `${prefix}.audit.>`,
  };
}
export type Subjects = ReturnType<typeof subjects>;
