import { ExitCodes } from './format.ts';

/**
 * Why a CLI call did not do what was asked: a contract error code (`not_found`, `policy_denied`,
 * ...) or one of the CLI's own (`usage`, `unreachable`, `timeout`), a message saying what to do,
 * and the exit code the README's table gives it.
 */
export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    exitCode?: number,
  ) {
    super(message);
    this.name = 'CliFailure';
    this.exitCode = exitCode ?? ExitCodes[code] ?? 1;
  }
  toJson() {
    return { error: { code: this.code, message: this.message, exitCode: this.exitCode, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const usage = (message: string) => new CliFailure('usage', message);
