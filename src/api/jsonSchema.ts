import { z } from 'zod';
import * as S from './schemas.ts';
import { Verbs, type Verb } from './subjects.ts';
import { ErrorReply, ReplySchemas } from './replySchemas.ts';

/** The request schema of every verb: one entry per verb, or this does not compile. */
export const RequestSchemas = {
  [Verbs.shareStart]: S.ShareStartRequest,
  [Verbs.shareStop]: S.ShareStopRequest,
  [Verbs.shareExtend]: S.ShareExtendRequest,
  [Verbs.shareRevoke]: S.ShareRevokeRequest,
  [Verbs.shareSwitch]: S.ShareSwitchRequest,
  [Verbs.shareGet]: S.ShareGetRequest,
  [Verbs.approvalDecide]: S.ApprovalDecideRequest,
  [Verbs.approvalList]: S.ApprovalListRequest,
  [Verbs.handoffRequest]: S.HandoffRequest,
  [Verbs.handoffGet]: S.HandoffGetRequest,
  [Verbs.handoffRelease]: S.HandoffReleaseRequest,
  [Verbs.terminalContext]: S.TerminalContextRequest,
  [Verbs.terminalInput]: S.TerminalInputRequest,
  [Verbs.terminalScreen]: S.TerminalScreenRequest,
  [Verbs.shareList]: S.ShareListRequest,
  [Verbs.badgeList]: S.BadgeListRequest,
  [Verbs.auditRead]: S.AuditReadRequest,
  [Verbs.recordingList]: S.RecordingListRequest,
  [Verbs.recordingRead]: S.RecordingReadRequest,
} as const satisfies Record<Verb, z.ZodType>;

/** JSON Schema of every request and of the share, keyed by verb, generated from the zod schemas. */
export function contractJsonSchema(): Record<string, unknown> {
  return {
    requests: Object.fromEntries(Object.entries(RequestSchemas).map(([verb, schema]) => [verb, z.toJSONSchema(schema)])),
    replies: Object.fromEntries(Object.entries(ReplySchemas).map(([verb, schema]) => [verb, z.toJSONSchema(schema)])),
    error: z.toJSONSchema(ErrorReply),
    share: z.toJSONSchema(S.Share),
    approval: z.toJSONSchema(S.Approval),
    handoff: z.toJSONSchema(S.Handoff),
    event: z.toJSONSchema(S.EventBody),
    audit: z.toJSONSchema(S.AuditRecord),
    badge: z.toJSONSchema(S.Badge),
    recording: z.toJSONSchema(S.Recording),
  };
}

/**
 * A NATS micro endpoint's metadata (strings only, by the micro spec): the JSON Schema of its
 * request, of its reply, and of the error body every refusal carries, so `nats micro info` shows them.
 */
export function endpointMetadata(verb: Verb): Record<string, string> {
  return {
    verb,
    request_schema: JSON.stringify(z.toJSONSchema(RequestSchemas[verb])),
    response_schema: JSON.stringify(z.toJSONSchema(ReplySchemas[verb])),
    error_schema: JSON.stringify(z.toJSONSchema(ErrorReply)),
  };
}
