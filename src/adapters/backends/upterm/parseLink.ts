// Colours and cursor controls upterm or the hosted command may print around the link.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07/g;

/**
 * Finds the ssh command upterm prints after its `SSH:` line, e.g.
 * `ssh AbC123:MTI3LjAuMC4xOjIyMjI=@127.0.0.1 -p 2222` (`-p` is left out for port 22).
 */
export function parseUptermLink(lines: string[]): string | undefined {
  const at = lines.findIndex((l) => /\bSSH:\s*$/.test(l.replace(ANSI, '').trim()));
  if (at < 0) return undefined;
  for (const raw of lines.slice(at + 1, at + 4)) {
    const m = raw.replace(ANSI, '').trim().match(/^ssh\s+(\S+@\S+)(\s+-p\s+\d+)?$/);
    if (m) return `ssh ${m[1]}${m[2] ?? ''}`;
  }
  return undefined;
}
