import { constants } from 'node:fs';
import { access, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { ShareLink } from '../../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../../errors.ts';
import { isAlive, reaperBackendPid, reaperEnd, shellJoin, signalOfStatus, terminate, underReaper } from '../../process.ts';
import { HomeDirs } from '../homeDirs.ts';
import { hasConnectionTo, sshPort, stoppedState } from '../probe.ts';
import type { BackendExit, BackendProbe, BackendSession, BackendStartSpec, ShareBackendAdapter } from '../types.ts';
import { answerFor, changedKeyError, isPinned, pinnedFingerprints, promptedFingerprint, unpinnedError, type HostKeyPin } from './hostKeyPin.ts';
import { parseUptermLink } from './parseLink.ts';
import { STOP_PHASE_MS } from '../../../machines/restartPolicy.ts';

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
  /** Bound of each phase of an orderly end (guests gone, then upterm gone after SIGTERM); default STOP_PHASE_MS (1.5 s). */
  stopBoundMs?: number;
  /** While healthy, upterm's admin socket is asked (a process spawn) at most this often; default 10 s. */
  adminProbeEveryMs?: number;
};

/** A Unix socket path has at most 107 bytes (108 with its NUL). */
export const MAX_SOCKET_PATH = 107;
/** upterm's session ids (uptermd 0.24: uniuri.UUIDLen) are 20 characters. */
const SESSION_ID = 'x'.repeat(20);

/** Where upterm puts a share's admin socket: `$XDG_RUNTIME_DIR/upterm/<session id>.sock`. */
export function adminSocketPath(home: string, sessionId = SESSION_ID): string {
  return join(home, 'run', 'upterm', `${sessionId}.sock`);
}

/**
 * Refuses a work dir so deep that upterm's admin socket path would pass 107 bytes: upterm then
 * serves a link nobody can join (every guest gets "Permission denied (publickey)").
 */
export function checkSocketPath(workDir: string, shareId = 'sh_xxxxxxxxxxxx'): Result<void, TermshareError> {
  const path = adminSocketPath(join(workDir, shareId));
  const over = Buffer.byteLength(path) - MAX_SOCKET_PATH;
  if (over <= 0) return ok(undefined);
  return err(
    new TermshareError(
      ErrorCodes.backendUnavailable,
      `upterm's admin socket would be ${path} (${Buffer.byteLength(path)} bytes), past the ${MAX_SOCKET_PATH} bytes a Unix socket path may have: the share would look active but nobody could join it. Set TERMSHARE_STATE_DIR to a directory at least ${over} bytes shorter`,
    ),
  );
}

export class UptermBackend implements ShareBackendAdapter {
  readonly name = 'upterm' as const;
  private readonly homes = new HomeDirs();
  constructor(private readonly opts: UptermOptions) {}

  async start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>> {
    const o = this.opts;
    try {
      await access(o.bin, constants.X_OK);
    } catch {
      return err(new TermshareError(ErrorCodes.backendUnavailable, `upterm is not installed at ${o.bin}; run \`npm run setup\` or set TERMSHARE_UPTERM_BIN`));
    }
    const socketPath = checkSocketPath(o.workDir, spec.shareId);
    if (!socketPath.ok) return err(socketPath.error);
    // One incarnation at a time in the share's HOME: a restarted worker's backend waits until the one before has removed it.
    // The link bound counts from here: waiting for the home and preparing it are part of it, so the worker's
    // own bound (a backstop, 2 s longer) never ends a start that this one would still let finish.
    const deadline = Date.now() + spec.linkTimeoutMs;
    const lease = await this.homes.take(join(o.workDir, spec.shareId), 'upterm', spec.linkTimeoutMs);
    if (!lease.ok) return err(lease.error);
    const home = lease.value.dir;
    if (spec.signal?.aborted) {
      await lease.value.release();
      return err(new TermshareError(ErrorCodes.backendFailed, 'the upterm start was cancelled'));
    }
    try {
      await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
      await copyFile(o.identityFile, join(home, '.ssh', 'id_ed25519'));
      await copyFile(`${o.identityFile}.pub`, join(home, '.ssh', 'id_ed25519.pub'));
      await mkdir(join(home, 'run'), { recursive: true, mode: 0o700 });
    } catch (e) {
      await lease.value.release();
      return err(new TermshareError(ErrorCodes.backendFailed, `cannot prepare upterm's home ${home}: ${(e as Error).message}`));
    }

    // --no-sftp: guests get the terminal and nothing else (upterm serves SFTP/SCP of the host user's files by default).
    const args = ['host', '--accept', '--no-sftp', '--known-hosts', o.hostKey.knownHosts];
    if (o.server) args.push('--server', o.server);
    if (spec.access === 'read-only') args.push('--read-only');
    args.push('--force-command', shellJoin(o.guestAttach(spec)), '--', ...spec.attach.argv);

    // The reaper counts guests through the admin socket, bounded so that a hung upterm cannot hold it.
    const count = `timeout 1 ${shellJoin([o.bin, 'session', 'current', '-o', 'go-template={{.ClientCount}}', '--admin-socket'])} "$XDG_RUNTIME_DIR"/upterm/*.sock`;
    const boundMs = o.stopBoundMs ?? STOP_PHASE_MS;
    const reaper = underReaper(o.bin, args, { detach: spec.detachGuests, count, boundMs });
    const child = execa(reaper.file, reaper.argv, {
      detached: true, // its own process group: a signal to the service's group is the service's to handle (guests first)
      reject: false,
      buffer: false,
      stdin: 'pipe', // upterm ends when its stdin closes; keep it open for the life of the share
      cwd: home,
      env: { ...spec.attach.env, ...reaper.env, HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), XDG_CONFIG_HOME: join(home, 'config'), TMUX: undefined },
      extendEnv: true,
      cancelSignal: spec.signal,
      killSignal: 'SIGTERM', // the reaper's orderly end, also when the launch is cancelled
    });
    let stderrTail = '';
    let uptermPid: number | undefined;
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
      uptermPid ??= reaperBackendPid(stderrTail);
    });

    // The per-share HOME goes before `exited` settles, so a restarted worker never has its new HOME removed.
    const exited: Promise<BackendExit & { stderr: string }> = child.then(async (r) => {
      await lease.value.release();
      const tail = stderrTail.replace(/^termshare-reaper: .*$\n?/gm, '');
      return { ...describeEnd(r, reaperEnd(stderrTail), tail, boundMs), stderr: tail };
    });

    const link = await this.readLink(child.stdout!, exited, { leftMs: Math.max(0, deadline - Date.now()), boundMs: spec.linkTimeoutMs }, (answer) => child.stdin?.write(`${answer}\n`));
    if (!link.ok) {
      await terminate(child);
      return err(link.error);
    }
    const share: ShareLink = spec.access === 'read-only' ? { ssh: link.value, sshReadOnly: link.value } : { ssh: link.value };
    const pid = () => uptermPid ?? child.pid;
    const relayPort = sshPort(o.server ?? 'ssh://uptermd.upterm.dev:22');
    let deafProbes = 0;
    let adminAskedAt = 0;
    const adminProbeEveryMs = o.adminProbeEveryMs ?? 10_000;
    const probe = async (): Promise<BackendProbe> => {
      const p = pid();
      if (!p || !isAlive(p)) return { status: 'ok' }; // an ended process reports through `exited`
      const stopped = stoppedState(p);
      if (stopped) return { status: 'hung', reason: `upterm (pid ${p}) ${stopped}` };
      if (relayPort !== undefined && hasConnectionTo(p, relayPort) === false) {
        return { status: 'hung', reason: `upterm (pid ${p}) has no connection to its relay ${o.server ?? 'uptermd.upterm.dev'} any more (upterm does not reconnect)` };
      }
      // Asking the admin socket spawns a process: while it answers, at most every adminProbeEveryMs (idle
      // shares cost next to nothing); after a miss, on the next beat. Two misses in a row, so one slow
      // answer on a loaded machine is not a crash.
      if (deafProbes === 0 && Date.now() - adminAskedAt < adminProbeEveryMs) return { status: 'ok' };
      adminAskedAt = Date.now();
      deafProbes = (await this.clientCount(home, link.value)) === undefined ? deafProbes + 1 : 0;
      if (deafProbes >= 2) return { status: 'hung', reason: `upterm's admin socket did not answer twice in a row (bound 2 s)` };
      return { status: 'ok' };
    };
    return ok({
      backend: 'upterm',
      link: share,
      get pid() {
        return pid();
      },
      exited,
      isAlive: () => isAlive(pid()) && child.exitCode === null,
      connectedClients: () => this.clientCount(home, link.value),
      probe,
      stop: async () => {
        // The reaper's own bounds end upterm; KILL to the reaper only if it is stuck past both.
        await terminate(child, 2 * boundMs + 2000);
        return exited;
      },
    });
  }

  /** Asks upterm's admin socket how many guests are connected. */
  private async clientCount(home: string, link: string): Promise<number | undefined> {
    const sessionId = link.split(' ')[1]?.split(':')[0];
    const r = await execa(this.opts.bin, ['session', 'current', '--admin-socket', adminSocketPath(home, sessionId), '-o', 'go-template={{.ClientCount}}'], {
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
    if (await isPinned(pin, url)) {
      // Shares started together against a relay not pinned yet: another start may have pinned this very key a moment ago. That is no change.
      if (pin.fingerprint === seen && (await pinnedFingerprints(pin, url)).includes(seen)) return ok(seen);
      return err(changedKeyError(pin, server, 'REMOTE HOST IDENTIFICATION HAS CHANGED')!);
    }
    const reply = answerFor(pin, seen);
    return reply === 'no' ? err(unpinnedError(pin, server, seen)) : ok(reply);
  }

  /** upterm prints `SSH:` then the ssh command; everything after is the hosted command's output, drained and dropped. */
  private readLink(
    stdout: NodeJS.ReadableStream,
    exited: Promise<BackendExit & { stderr?: string }>,
    timeout: { leftMs: number; boundMs: number },
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
        () => finish(err(new TermshareError(ErrorCodes.backendFailed, `upterm gave no link within ${Math.round(timeout.boundMs / 1000)} s from ${server}; check that the relay is reachable (or, on a loaded machine, raise TERMSHARE_LINK_TIMEOUT)`))),
        timeout.leftMs,
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

/**
 * How upterm ended, from the reaper's report. Only an orderly end is confirmed: upterm 0.24's
 * relay keeps a guest's ssh open, seeing nothing, when upterm dies without closing the guest's
 * session first (it notices only when the guest sends a byte).
 */
function describeEnd(r: { exitCode?: number; signal?: string }, end: ReturnType<typeof reaperEnd>, tail: string, boundMs: number): BackendExit {
  const status = end?.status ?? r.exitCode;
  const signal = signalOfStatus(status);
  const base = { exitCode: signal ? undefined : status, signal: signal ?? r.signal };
  if (!end) return { ...base, message: `upterm's reaper ended by ${r.signal ?? `code ${r.exitCode}`}`, unconfirmed: 'how upterm ended (its reaper gave no report)' };
  const message = signal ? `upterm ended by ${signal}` : `upterm exited with code ${status}${tail ? `: ${lastLine(tail)}` : ''}`;
  const hanging = 'its participants may stay connected to the relay, seeing nothing, until they type (uptermd 0.24 keeps them)';
  if (end.backend === 'kill') return { ...base, message, unconfirmed: `upterm did not end within ${boundMs} ms of SIGTERM and was killed: ${hanging}` };
  if (end.backend === 'exited' && signal === 'SIGKILL') return { ...base, message, unconfirmed: `upterm was killed (SIGKILL) before it could close its guests' sessions: ${hanging}` };
  if (end.backend === 'term' && end.guests !== 'gone') {
    return { ...base, message, unconfirmed: `upterm ${end.guests === 'left' ? 'still counted guests' : 'could not count its guests'} ${boundMs} ms after they were detached; it was ended with SIGTERM, which drops guests only some of the time` };
  }
  return { ...base, message };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}
