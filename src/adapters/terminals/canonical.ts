import type { TerminalRef } from '../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../errors.ts';

/**
 * Canonical terminals: a reference names one session by its exact name, and only a name that tmux
 * cannot read as anything else (`-t =name` is then that session and no other). Target syntax
 * (`x.0`, `x:`, `=x`, `$3`), prefixes and patterns reach a session too, under another name: the
 * policy, the limit and the lease would take them for another terminal, so they are refused.
 */

/** The session a reference resolved to: its canonical reference and the multiplexer's own id (`$3`). */
export type ResolvedTerminal = { canonical: TerminalRef; id: string };
export type Session = { id: string; name: string };

/** No `.` or `:` (tmux allows neither), no leading `=`, `$`, `@` or `%` (target syntax), no pattern characters. */
export const CANONICAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_@%+=,-]{0,127}$/;

export function splitRef(ref: string): { kind: string; name: string } {
  const at = ref.indexOf(':');
  return at < 0 ? { kind: '', name: ref } : { kind: ref.slice(0, at), name: ref.slice(at + 1) };
}

/** What a non-canonical name most likely meant: `=x.0:` → `x` (no guess for ids such as `$3`). */
export function guessName(name: string): string | undefined {
  const guess = name.trim().replace(/^=+/, '').split(/[.:]/)[0] ?? '';
  return CANONICAL_NAME.test(guess) ? guess : undefined;
}

function syntaxOf(name: string): string {
  if (name.startsWith('$')) return 'a tmux session id';
  if (name.startsWith('=')) return "tmux's exact-match target syntax";
  if (/[.:]/.test(name)) return 'a tmux window/pane target';
  return 'a prefix of the name (tmux completes prefixes)';
}

/**
 * Resolves `ref` against the sessions that exist. `reach` says which session tmux itself would
 * take `name` to mean as a target (undefined: none), so an alias is named by its canonical form.
 */
export async function resolveRef(ref: TerminalRef, sessions: Session[], reach: (name: string) => Promise<Session | undefined>): Promise<Result<ResolvedTerminal>> {
  const { kind, name } = splitRef(ref);
  if (kind !== 'tmux') return err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${ref} does not exist: this service has tmux terminals only (tmux:<session>)`));
  const exact = sessions.find((s) => s.name === name);
  if (exact && CANONICAL_NAME.test(name)) return ok({ canonical: `tmux:${name}`, id: exact.id });
  if (exact) return err(unshareable(exact));
  const target = (await reach(name)) ?? sessions.find((s) => s.name === guessName(name));
  if (target && !CANONICAL_NAME.test(target.name)) return err(unshareable(target));
  if (target) {
    return err(new TermshareError(ErrorCodes.invalidRequest,
      `terminal ${ref} is not a session's name but ${syntaxOf(name)} reaching session "${target.name}"; termshare takes exact session names only: use tmux:${target.name}`,
      { canonical: `tmux:${target.name}` }));
  }
  if (!CANONICAL_NAME.test(name)) {
    return err(new TermshareError(ErrorCodes.invalidRequest,
      `terminal ${ref} is not a session name (tmux session names contain no "." or ":", and termshare takes no tmux targets or ids); list sessions with \`tmux ls\` and use tmux:<name>`));
  }
  return err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${ref} does not exist; create it first (e.g. \`tmux new-session -d -s ${name}\`) or check TERMSHARE_TMUX_SOCKET`));
}

function unshareable(s: Session): TermshareError {
  return new TermshareError(ErrorCodes.invalidRequest,
    `tmux session "${s.name}" has a name tmux would also read as a target, so it cannot be shared safely; rename it (\`tmux rename-session -t '${s.id}' <name>\`, letters, digits and _@%+=,- not starting with a symbol) and use tmux:<name>`);
}

/** For references to what may have ended (a list filter): the syntax alone, no session looked up. */
export function checkCanonicalSyntax(ref: TerminalRef): Result<TerminalRef> {
  const { kind, name } = splitRef(ref);
  if (CANONICAL_NAME.test(name)) return ok(ref);
  const guess = guessName(name);
  return err(new TermshareError(ErrorCodes.invalidRequest,
    `terminal ${ref} is not a session name but ${syntaxOf(name)}; ${guess ? `use ${kind}:${guess}` : 'use the session\'s name (see `tmux ls`)'}`));
}
