/** Failures are values: every refusal carries a contract error code and a message saying what to do. */
export const ErrorCodes = {
  invalidRequest: 'invalid_request',
  policyDenied: 'policy_denied',
  approvalRejected: 'approval_rejected',
  approvalTimeout: 'approval_timeout',
  limitExceeded: 'limit_exceeded',
  notFound: 'not_found',
  terminalNotFound: 'terminal_not_found',
  backendUnavailable: 'backend_unavailable',
  backendFailed: 'backend_failed',
  conflict: 'conflict',
  unauthorized: 'unauthorized',
  /** The service failed on its own side (a bug, not the request): logged; try again or report it. */
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** NATS micro error headers carry a numeric code; these follow HTTP meanings. */
export const ErrorStatus: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  policy_denied: 403,
  approval_rejected: 403,
  not_found: 404,
  terminal_not_found: 404,
  conflict: 409,
  approval_timeout: 408,
  limit_exceeded: 429,
  backend_failed: 502,
  backend_unavailable: 503,
  internal: 500,
};

export class TermshareError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'TermshareError';
  }
  /**
   * Already in the audit trail where it happened (a refusal recorded by the gate, or a step of its
   * share's or handoff's chain): the door (endpoints.ts) records it no second time.
   */
  audited = false;
  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export type Result<T, E = TermshareError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** Marks a failure as already audited (see TermshareError.audited); a success passes as it is. */
export function audited<T>(r: Result<T>): Result<T> {
  if (!r.ok) r.error.audited = true;
  return r;
}
