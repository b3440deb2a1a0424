import { z } from 'zod';
import * as S from './schemas.ts';
import { Verbs, type Verb } from './subjects.ts';
import { ErrorCodes } from '../errors.ts';

const ShareReply = z.object({ share: S.Share });
const HandoffReply = z.object({ handoff: S.Handoff });

/** What each verb answers when it succeeds (README "API (NATS)"); one entry per verb, or this does not compile. */
export const ReplySchemas = {
  [Verbs.shareStart]: ShareReply,
  [Verbs.shareStop]: ShareReply,
  [Verbs.shareExtend]: ShareReply,
  [Verbs.shareRevoke]: ShareReply,
  [Verbs.shareSwitch]: ShareReply,
  [Verbs.shareGet]: ShareReply,
  [Verbs.shareList]: z.object({ shares: z.array(S.Share) }),
  [Verbs.approvalDecide]: z.object({ approval: S.Approval }),
  [Verbs.approvalList]: z.object({ approvals: z.array(S.Approval) }),
  [Verbs.handoffRequest]: HandoffReply,
  [Verbs.handoffGet]: HandoffReply,
  [Verbs.handoffRelease]: HandoffReply,
  [Verbs.terminalContext]: z.object({ context: S.TerminalContextSchema }),
  [Verbs.terminalInput]: z.object({ ok: z.literal(true) }),
  [Verbs.terminalScreen]: z.object({ lines: z.array(z.string()), cursor: z.object({ x: z.number().int(), y: z.number().int() }) }),
  [Verbs.badgeList]: z.object({ badges: z.array(S.Badge) }),
  [Verbs.auditRead]: z.object({ records: z.array(S.AuditRecord), firstSeq: z.number().int(), lastSeq: z.number().int(), nextSeq: z.number().int() }),
  [Verbs.recordingList]: z.object({ recordings: z.array(S.Recording) }),
  [Verbs.recordingRead]: z.object({ recording: S.Recording, headerLine: z.string(), chunks: z.array(z.string()), nextSeq: z.number().int(), done: z.boolean() }),
} as const satisfies Record<Verb, z.ZodType>;

/** Every refusal's body; the same code travels in the `Nats-Service-Error-Code` header as a number. */
export const ErrorReply = z.object({
  error: z.object({
    code: z.enum(Object.values(ErrorCodes) as [string, ...string[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
