import { readdir, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TerminalRef } from '../../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../../errors.ts';
import { CANONICAL_NAME, guessName, splitRef, type ResolvedTerminal, type Session } from '../canonical.ts';

/**
 * zellij sessions (0.45.1), one terminal each. zellij has no session ids: a session is a server
 * listening on `<socket dir>/contract_version_N/<name>`, and `rename-session` renames that socket
 * file. Its inode is therefore the session's id (`#<inode>`): kept across a rename, new for a new
 * session made under an old name.
 */

/** zellij with the adapter's environment; `env` adds to it (e.g. ZELLIJ_PANE_ID, the pane a CLI action is "in"). */
export type ZellijRun = (args: string[], env?: Record<string, string>) => Promise<{ exitCode?: number | undefined; stdout: string; stderr: string }>;

/** zellij's own choice: ZELLIJ_SOCKET_DIR, else $XDG_RUNTIME_DIR/zellij, else /tmp/zellij-<uid>. */
export function socketDir(env: NodeJS.ProcessEnv): string {
  if (env.ZELLIJ_SOCKET_DIR) return env.ZELLIJ_SOCKET_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'zellij');
  return join(tmpdir(), `zellij-${userInfo().uid}`);
}

/**
 * The live sessions: `list-sessions -n` less the exited (resurrectable) ones, each with the inode
 * of its socket. A name listed without a socket (it ended meanwhile) is left out.
 */
export async function liveSessions(run: ZellijRun, env: NodeJS.ProcessEnv): Promise<Session[]> {
  const listed = await run(['list-sessions', '--no-formatting']);
  // With no session at all zellij exits 1 ("No active zellij sessions found").
  if (listed.exitCode !== 0) return [];
  const names = listed.stdout.split('\n')
    .filter((l) => l.includes(' [Created ') && !l.includes('(EXITED'))
    .map((l) => l.slice(0, l.indexOf(' [Created ')));
  const dir = socketDir(env);
  const contracts = (await readdir(dir).catch(() => [] as string[])).filter((d) => d.startsWith('contract_version_'));
  const sessions: Session[] = [];
  for (const name of names) {
    for (const c of contracts) {
      const s = await stat(join(dir, c, name)).catch(() => undefined);
      if (s?.isSocket()) {
        sessions.push({ id: `#${s.ino}`, name });
        break;
      }
    }
  }
  return sessions;
}

/**
 * The one live session a `zellij:` reference names by its exact name. zellij itself completes a
 * unique prefix (`attach`, `watch`), so a prefix is refused naming the full name, as for tmux.
 */
export function resolveZellij(ref: TerminalRef, sessions: Session[]): Result<ResolvedTerminal> {
  const { kind, name } = splitRef(ref);
  if (kind !== 'zellij') return err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${ref} is not a zellij terminal (zellij:<session>)`));
  const exact = sessions.find((s) => s.name === name);
  if (exact && CANONICAL_NAME.test(name)) return ok({ canonical: `zellij:${name}`, id: exact.id });
  if (exact) {
    return err(new TermshareError(ErrorCodes.invalidRequest,
      `zellij session "${name}" has a name termshare cannot share safely; rename it (\`zellij --session '${name}' action rename-session <name>\`, letters, digits and _@%+=,- not starting with a symbol) and use zellij:<name>`));
  }
  const byId = sessions.find((s) => s.id === name);
  const byPrefix = sessions.filter((s) => s.name.startsWith(name));
  const reached = byId ?? (byPrefix.length === 1 ? byPrefix[0] : sessions.find((s) => s.name === guessName(name)));
  if (reached && CANONICAL_NAME.test(reached.name)) {
    const what = byId ? "the session's id" : byPrefix.length === 1 ? 'a prefix of the name (zellij completes prefixes)' : 'tmux-style target syntax';
    return err(new TermshareError(ErrorCodes.invalidRequest,
      `terminal ${ref} is not a session's name but ${what} reaching session "${reached.name}"; termshare takes exact session names only: use zellij:${reached.name}`,
      { canonical: `zellij:${reached.name}` }));
  }
  if (!CANONICAL_NAME.test(name)) {
    return err(new TermshareError(ErrorCodes.invalidRequest,
      `terminal ${ref} is not a session name termshare takes (names contain no "." or ":", only letters, digits and _@%+=,-, not starting with a symbol); list sessions with \`zellij list-sessions\` and use zellij:<name>`));
  }
  return err(new TermshareError(ErrorCodes.terminalNotFound,
    `terminal ${ref} does not exist (or has exited); create it first (e.g. \`zellij attach --create-background ${name}\`) or check ZELLIJ_SOCKET_DIR`));
}
