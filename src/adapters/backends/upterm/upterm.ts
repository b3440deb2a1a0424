import { constants } from 'node:fs';
import { access, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { ShareLink } from '../../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../../errors.ts';
import { isAlive, shellJoin, terminate, withParentDeathSignal } from '../../process.ts';
import type { BackendExit, BackendSession, BackendStartSpec, ShareBackendAdapter } from '../types.ts';
import { answerFor, changedKeyError, isPinned, promptedFingerprint, unpinnedError, type HostKeyPin } from './hostKeyPin.ts';
import { parseUptermLink } from './parseLink.ts';

export type UptermOptions = {
  bin: string;
  /** `ssh://host:port`; unset means upterm's public default. */
  server?: string;
  /** Where relay host keys are pinned, and the fingerprint to pin a relay not seen before (see hostKeyPin.ts). */
  hostKey: HostKeyPin;
  /** The host's ssh identity (ed25519 private key; `.pub` beside it). */
  identityFile: string;
  /** Per-share HOME/XDG dirs go under here and are removed when the share ends. */
  workDir: string;
  /** The guest attach command for participants; the hosted command is the host attach command. */
  guestAttach: (spec: BackendStartSpec) => string[];
};

export class UptermBackend implements ShareBackendAdapter {
  readonly name = 'upterm' as const;
  constructor(private readonly opts: UptermOptions) {}

  async start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>> {
    const o = this.opts;
    try {
      await access(o.bin, constants.X_OK);
    } catch {
      return err(new TermshareError(ErrorCodes.backendUnavailable, `upterm is not installed at ${o.bin}; run \`npm run setup\` or set TERMSHARE_UPTERM_BIN`));
    }
    const home = join(o.workDir, spec.shareId);
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    await copyFile(o.identityFile, join(home, '.ssh', 'id_ed25519'));
    await copyFile(`${o.identityFile}.pub`, join(home, '.ssh', 'id_ed25519.pub'));
    await mkdir(join(home, 'run'), { recursive: true, mode: 0o700 });

    // --no-sftp: guests get the terminal and nothing else (upterm serves SFTP/SCP of the host user's files by default).
    const args = ['host', '--accept', '--no-sftp', '--known-hosts', o.hostKey.knownHosts];
    if (o.server) args.push('--server', o.server);
    if (spec.access === 'read-only') args.push('--read-only');
    args.push('--force-command', shellJoin(o.guestAttach(spec)), '--', ...spec.attach.argv);

    const [bin, argv] = withParentDeathSignal(o.bin, args);
    const child = execa(bin, argv, {
      detached: true, // its own process group: a signal to the service's group is the service's to handle (guests first)
      reject: false,
      buffer: false,
      stdin: 'pipe', // upterm ends when its stdin closes; keep it open for the life of the share
      cwd: home,
      env: { ...spec.attach.env, HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), XDG_CONFIG_HOME: join(home, 'config'), TMUX: undefined },
      extendEnv: true,
      cancelSignal: spec.signal,
    });
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-2000)));

    // The per-share HOME goes before `exited` settles, so a restarted worker never has its new HOME removed.
    const exited: Promise<BackendExit & { stderr: string }> = child.then(async (r) => {
      await rm(home, { recursive: true, force: true }).catch(() => undefined);
      return {
        exitCode: r.exitCode,
        signal: r.signal,
        message: r.signal ? `upterm ended by ${r.signal}` : `upterm exited with code ${r.exitCode}${stderrTail ? `: ${lastLine(stderrTail)}` : ''}`,
        stderr: stderrTail,
      };
    });

    const link = await this.readLink(child.stdout!, exited, spec.linkTimeoutMs, (answer) => child.stdin?.write(`${answer}\n`));
    if (!link.ok) {
      await terminate(child);
      return err(link.error);
    }
    const share: ShareLink = spec.access === 'read-only' ? { ssh: link.value, sshReadOnly: link.value } : { ssh: link.value };
    return ok({
      backend: 'upterm',
      link: share,
      pid: child.pid,
      exited,
      isAlive: () => isAlive(child.pid) && child.exitCode === null,
      connectedClients: () => this.clientCount(home, link.value),
      stop: async () => {
        await terminate(child);
        return exited;
      },
    });
  }

  /** Asks upterm's admin socket how many guests are connected. */
  private async clientCount(home: string, link: string): Promise<number | undefined> {
    const sessionId = link.split(' ')[1]?.split(':')[0];
    const r = await execa(this.opts.bin, ['session', 'current', '--admin-socket', join(home, 'run', 'upterm', `${sessionId}.sock`), '-o', 'go-template={{.ClientCount}}'], {
      reject: false,
      env: { HOME: home, XDG_RUNTIME_DIR: join(home, 'run') },
      timeout: 2000,
    });
    const n = Number(r.stdout.trim());
    return r.exitCode === 0 && Number.isInteger(n) ? n : undefined;
  }

  /** The answer to upterm's prompt about a relay key it has not seen: the fingerprint, or a refusal. */
  private async answerPrompt(seen: string, server: string): Promise<Result<string, TermshareError>> {
    const pin = this.opts.hostKey;
    const url = this.opts.server ?? 'ssh://uptermd.upterm.dev:22';
    if (await isPinned(pin, url)) return err(changedKeyError(pin, server, 'REMOTE HOST IDENTIFICATION HAS CHANGED')!);
    const reply = answerFor(pin, seen);
    return reply === 'no' ? err(unpinnedError(pin, server, seen)) : ok(reply);
  }

  /** upterm prints `SSH:` then the ssh command; everything after is the hosted command's output, drained and dropped. */
  private readLink(
    stdout: NodeJS.ReadableStream,
    exited: Promise<BackendExit & { stderr?: string }>,
    timeoutMs: number,
    answer: (text: string) => void,
  ): Promise<Result<string, TermshareError>> {
    const server = this.opts.server ?? 'upterm\'s default relay';
    return new Promise((resolve) => {
      const lines = createInterface({ input: stdout, crlfDelay: Infinity });
      const seen: string[] = [];
      let done = false;
      const finish = (r: Result<string, TermshareError>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      lines.on('line', (line) => {
        if (done) return;
        const prompted = promptedFingerprint(line);
        if (prompted) {
          void this.answerPrompt(prompted, server).then((r) => {
            answer(r.ok ? r.value : 'no');
            if (!r.ok) finish(r);
          });
          return;
        }
        seen.push(line);
        const found = parseUptermLink(seen);
        if (found) finish(ok(found));
      });
      const timer = setTimeout(
        () => finish(err(new TermshareError(ErrorCodes.backendFailed, `upterm gave no link within ${Math.round(timeoutMs / 1000)} s from ${server}; check that the relay is reachable`))),
        timeoutMs,
      );
      void exited.then((e) => {
        const changed = changedKeyError(this.opts.hostKey, server, e.stderr ?? e.message);
        if (changed) return finish(err(changed));
        const unreachable = /connection refused|no route|i\/o timeout|dial tcp|no such host|handshake failed/i.test(e.message);
        finish(
          err(
            unreachable
              ? new TermshareError(ErrorCodes.backendUnavailable, `the upterm relay ${server} is unreachable (${e.message}); check TERMSHARE_UPTERM_SERVER`)
              : new TermshareError(ErrorCodes.backendFailed, `upterm ended before giving a link: ${e.message}`),
          ),
        );
      });
    });
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}
