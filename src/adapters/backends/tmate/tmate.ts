import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { Access, ShareLink } from '../../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../../errors.ts';
import { isAlive, reaperBackendPid, reaperEnd, shellJoin, signalOfStatus, terminate, underReaper } from '../../process.ts';
import { hasConnectionTo, stoppedState } from '../probe.ts';
import { STOP_PHASE_MS } from '../../../machines/restartPolicy.ts';
import type { BackendExit, BackendProbe, BackendSession, BackendStartSpec, ShareBackendAdapter } from '../types.ts';

export type TmateOptions = {
  /** The tmate binary, a path or a name looked up on PATH (default `tmate`). */
  bin?: string;
  /** The relay as `host:port` (port 22 when omitted); unset means tmate's public default (ssh.tmate.io). */
  server?: string;
  /** `SHA256:...` of the relay's ed25519 host key (`ssh-keygen -l -E SHA256 -f key.pub`). tmate refuses a relay whose key does not match. */
  fingerprint?: string;
  /** Per-share dirs (config, socket, HOME) go under here and are removed when the share ends. */
  workDir: string;
  /** Caps the wait for the relay's links below the spec's linkTimeoutMs. */
  readyTimeoutMs?: number;
  /**
   * What tmate hosts: the guest view of the terminal (tmate's guests all type into tmate's one pane),
   * in the share's access mode.
   */
  guestAttach: (spec: BackendStartSpec) => string[];
  /** Bound of each phase of the reaper's orderly end; default STOP_PHASE_MS (1.5 s). */
  stopBoundMs?: number;
};

/** What tmate says about its relay on stdout in foreground mode (-F), one status line at a time. */
const FINGERPRINT_MISMATCH = /Cannot authenticate server/;
const UNREACHABLE = /Error connecting: |lookup failure|Access denied|Auth error: /;

/** Unix socket paths are limited to 108 bytes; tmate fails with a bare "File name too long" past that. */
const MAX_SOCKET_PATH = 100;

/** `ssh -p PORT TOKEN@host` (tmate's shape) -> `ssh TOKEN@host -p PORT` (upterm's shape, which participants parse). */
export function normaliseTmateSsh(line: string): string | undefined {
  const m = line.trim().match(/^ssh\s+(?:-p\s*(\d+)\s+)?(\S+@\S+)(?:\s+-p\s*(\d+))?$/);
  if (!m) return undefined;
  const port = m[1] ?? m[3];
  return port && port !== '22' ? `ssh ${m[2]} -p ${port}` : `ssh ${m[2]}`;
}

/** The link handed out: a read-only share gets only the read-only links. */
export function tmateShareLink(access: Access, env: { ssh?: string; sshReadOnly?: string; web?: string; webReadOnly?: string }): ShareLink | undefined {
  const ro = env.sshReadOnly ? normaliseTmateSsh(env.sshReadOnly) : undefined;
  if (access === 'read-only') {
    if (!ro) return undefined;
    return { ssh: ro, sshReadOnly: ro, ...(env.webReadOnly ? { webReadOnly: env.webReadOnly } : {}) };
  }
  const rw = env.ssh ? normaliseTmateSsh(env.ssh) : undefined;
  if (!rw) return undefined;
  return { ssh: rw, ...(ro ? { sshReadOnly: ro } : {}), ...(env.web ? { web: env.web } : {}), ...(env.webReadOnly ? { webReadOnly: env.webReadOnly } : {}) };
}

export class TmateBackend implements ShareBackendAdapter {
  readonly name = 'tmate' as const;
  constructor(private readonly opts: TmateOptions) {}

  async start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>> {
    const o = this.opts;
    const bin = await resolveBin(o.bin ?? 'tmate');
    if (!bin) {
      return err(new TermshareError(ErrorCodes.backendUnavailable, `tmate is not installed (${o.bin ?? 'tmate'} not found); run \`apt-get install tmate\` or \`npm run setup\``));
    }
    const relay = parseServer(o.server);
    if (!relay.ok) return err(relay.error);
    if (o.fingerprint !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(o.fingerprint)) {
      return err(new TermshareError(ErrorCodes.backendUnavailable, `TERMSHARE_TMATE_FINGERPRINT must be the relay's ed25519 key fingerprint as \`SHA256:<43 base64 chars>\` (ssh-keygen -l -E SHA256 -f key.pub), not ${JSON.stringify(o.fingerprint)}`));
    }

    const dir = join(o.workDir, spec.shareId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const conf = join(dir, 'tmate.conf');
    let sock = join(dir, 'tmate.sock');
    if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) sock = join(tmpdir(), `termshare-tmate-${spec.shareId}.sock`);
    await writeFile(conf, tmateConfig(relay.value, o.fingerprint), { mode: 0o600 });

    const env = { ...spec.attach.env, HOME: dir, TMUX: undefined, TMUX_PANE: undefined };
    // Under the share's reaper: tmate's viewers live on the relay, and SIGTERM ("Session closed") drops them.
    const boundMs = o.stopBoundMs ?? STOP_PHASE_MS;
    const reaper = underReaper(bin, ['-S', sock, '-f', conf, '-F', 'new-session', shellJoin(o.guestAttach(spec))], { detach: spec.detachGuests, boundMs });
    const child = execa(reaper.file, reaper.argv, {
      detached: true, // its own process group: a signal to the service's group is the service's to handle
      reject: false,
      buffer: false,
      stdin: 'ignore',
      cwd: dir,
      env: { ...env, ...reaper.env },
      extendEnv: true,
      cancelSignal: spec.signal,
      killSignal: 'SIGTERM',
    });
    let tmatePid: number | undefined;
    // With -F and no terminal, tmate writes its status messages (connecting, errors, "Session closed") to stdout.
    let tail = '';
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    const listeners = new Set<(line: string) => void>();
    lines.on('line', (line) => {
      // Its link lines carry the session tokens: never kept for an exit message (links are secrets).
      if (!/\bssh\b|https?:\/\//.test(line)) tail = `${tail}${line}\n`.slice(-2000);
      for (const l of listeners) l(line);
    });
    let reaperLog = '';
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      reaperLog = (reaperLog + text.split('\n').filter((l) => l.startsWith('termshare-reaper: ')).join('\n') + '\n').slice(-2000);
      tmatePid ??= reaperBackendPid(reaperLog);
      const own = text.split('\n').filter((l) => !l.startsWith('termshare-reaper: ')).join('\n');
      if (own.trim()) tail = (tail + own).slice(-2000);
    });

    const cleanup = () => Promise.all([rm(dir, { recursive: true, force: true }), rm(sock, { force: true })]).then(() => undefined, () => undefined);
    const exited: Promise<BackendExit> = child.then(async (r) => {
      await cleanup();
      const end = reaperEnd(reaperLog);
      const status = end?.status ?? r.exitCode;
      const signal = signalOfStatus(status) ?? r.signal;
      return {
        exitCode: signal ? undefined : status,
        signal,
        message: signal ? `tmate ended by ${signal}` : `tmate exited with code ${status}${tail ? `: ${lastLine(tail)}` : ''}`,
        // tmate's viewers are the relay's: it drops them when tmate's session closes (SIGTERM), not when tmate is killed.
        ...(end?.backend === 'kill' || (end?.backend === 'exited' && signal === 'SIGKILL') ? { unconfirmed: 'tmate was killed before it could close its session on the relay; its viewers may stay connected there' } : {}),
      };
    });

    const tmate = (args: string[], extra: { timeout?: number; cancelSignal?: AbortSignal } = {}) =>
      execa(bin, ['-S', sock, ...args], { reject: false, env, extendEnv: true, stdin: 'ignore', ...extra });

    const bound = Math.min(spec.linkTimeoutMs, o.readyTimeoutMs ?? Infinity);
    const ready = await this.waitReady(child, tmate, listeners, exited, bound, relay.value);
    if (!ready.ok) {
      await terminate(child);
      await exited;
      return err(ready.error);
    }

    const read = async (name: string) => (await tmate(['display', '-p', `#{${name}}`], { timeout: 2000 })).stdout.trim() || undefined;
    const [ssh, sshReadOnly, web, webReadOnly] = await Promise.all(['tmate_ssh', 'tmate_ssh_ro', 'tmate_web', 'tmate_web_ro'].map(read));
    const link = tmateShareLink(spec.access, { ssh, sshReadOnly, web, webReadOnly });
    if (!link) {
      await terminate(child);
      await exited;
      return err(new TermshareError(ErrorCodes.backendFailed, `the tmate relay ${relay.value.label} said ready but gave no ${spec.access === 'read-only' ? 'read-only ' : ''}ssh link (tmate_ssh ${ssh ? 'present' : 'missing'}, tmate_ssh_ro ${sshReadOnly ? 'present' : 'missing'})`));
    }

    let current = link;
    const pid = () => tmatePid ?? child.pid;
    const probe = async (): Promise<BackendProbe> => {
      const p = pid();
      if (!p || !isAlive(p)) return { status: 'ok' };
      const stopped = stoppedState(p);
      if (stopped) return { status: 'hung', reason: `tmate (pid ${p}) ${stopped}` };
      // tmate reconnects by itself (every ~2 s) and gets a new link from the relay: wait for it, within the heartbeat budget.
      if (relay.value.port !== undefined && relay.value.host && hasConnectionTo(p, relay.value.port) === false) {
        return { status: 'degraded', reason: `tmate lost its relay ${relay.value.label}; waiting for it to reconnect` };
      }
      const [ssh2, ro2, web2, webRo2] = await Promise.all(['tmate_ssh', 'tmate_ssh_ro', 'tmate_web', 'tmate_web_ro'].map((n) => read(n).catch(() => undefined)));
      const now = tmateShareLink(spec.access, { ssh: ssh2, sshReadOnly: ro2, web: web2, webReadOnly: webRo2 });
      if (!now) return { status: 'degraded', reason: `tmate shows no link (relay ${relay.value.label})` };
      if (now.ssh === current.ssh) return { status: 'ok' };
      current = now;
      return { status: 'ok', link: now };
    };
    return ok({
      backend: 'tmate',
      get link() {
        return current;
      },
      get pid() {
        return pid();
      },
      exited,
      probe,
      isAlive: () => isAlive(pid()) && child.exitCode === null && child.signalCode === null,
      connectedClients: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const n = await read('tmate_num_clients').catch(() => undefined);
        return n !== undefined && /^\d+$/.test(n) ? Number(n) : undefined;
      },
      stop: async () => {
        await terminate(child, 2 * boundMs + 2000);
        return exited;
      },
    });
  }

  /**
   * `tmate wait tmate-ready` blocks until the relay says READY and never times out by itself: it runs under
   * our bound and is killed at it. tmate's own status lines end the wait early on a refused connection or a
   * host key mismatch, which tmate would otherwise retry every 2 s forever.
   */
  private waitReady(
    child: ResultPromise,
    tmate: (args: string[], extra?: { timeout?: number; cancelSignal?: AbortSignal }) => ResultPromise,
    listeners: Set<(line: string) => void>,
    exited: Promise<BackendExit>,
    timeoutMs: number,
    relay: Relay,
  ): Promise<Result<void, TermshareError>> {
    return new Promise((resolve) => {
      const ac = new AbortController();
      let done = false;
      const finish = (r: Result<void, TermshareError>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        listeners.delete(onLine);
        ac.abort();
        resolve(r);
      };
      const onLine = (line: string) => {
        if (FINGERPRINT_MISMATCH.test(line)) finish(err(fingerprintMismatch(relay, this.opts.fingerprint)));
        else if (UNREACHABLE.test(line)) {
          finish(err(new TermshareError(ErrorCodes.backendUnavailable, `the tmate relay ${relay.label} is unreachable or refused the connection (${line.trim()}); check TERMSHARE_TMATE_SERVER`)));
        }
      };
      listeners.add(onLine);
      const timer = setTimeout(
        () => finish(err(new TermshareError(ErrorCodes.backendFailed, `tmate gave no link within ${(timeoutMs / 1000).toFixed(1).replace(/\.0$/, '')} s: the relay ${relay.label} did not say ready; check that it is a working tmate relay (TERMSHARE_TMATE_SERVER)`))),
        timeoutMs,
      );
      void exited.then((e) => finish(err(new TermshareError(ErrorCodes.backendFailed, `tmate ended before giving a link: ${e.message}`))));
      void (async () => {
        // The socket appears a moment after launch; until then `wait` fails at once and is retried.
        while (!done && child.exitCode === null) {
          const r = await tmate(['wait', 'tmate-ready'], { cancelSignal: ac.signal });
          if (done) return;
          if (r.exitCode === 0) {
            finish(ok(undefined));
            return;
          }
          await sleep(25);
        }
      })();
    });
  }
}

export type Relay = { host?: string; port?: number; label: string };

function fingerprintMismatch(relay: Relay, fingerprint: string | undefined): TermshareError {
  const expected = fingerprint
    ? `TERMSHARE_TMATE_FINGERPRINT (${fingerprint})`
    : `tmate's built-in fingerprints for ssh.tmate.io, as TERMSHARE_TMATE_FINGERPRINT is unset`;
  return new TermshareError(
    ErrorCodes.backendUnavailable,
    `the tmate relay ${relay.label} presented a host key that does not match ${expected}; set TERMSHARE_TMATE_FINGERPRINT to the relay's ed25519 key fingerprint (\`ssh-keygen -l -E SHA256 -f host_key.pub\`)`,
  );
}

export function parseServer(server: string | undefined): Result<Relay, TermshareError> {
  if (!server) return ok({ label: 'ssh.tmate.io:22 (tmate\'s default)' });
  const m = server.trim().match(/^(?:ssh:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/);
  const port = m ? Number(m[2] ?? 22) : NaN;
  if (!m || port < 1 || port > 65535) {
    return err(new TermshareError(ErrorCodes.backendUnavailable, `TERMSHARE_TMATE_SERVER must be host:port, not ${JSON.stringify(server)}`));
  }
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return ok({ host, port, label: `${m[1]}:${port}` });
}

/** The lines that leave tmate's own tmux without any key a guest could use. */
export const GUEST_LOCKDOWN = ['unbind-key -a', 'set -g prefix None', 'set -g prefix2 None', 'set -g mouse off'];

export function tmateConfig(relay: Relay, fingerprint: string | undefined): string {
  const lines = [
    // -F ends when the hosted command ends instead of starting a new one.
    'set -g tmate-foreground-restart 0',
    // tmate's own tmux is a second door: no key binding in any table, no prefix, no mouse, so a guest's
    // keys (here, and on the relay, which replays these commands) only ever reach the hosted view.
    // One error in this file drops all of it on tmate 2.4: every line here is checked by its test.
    ...GUEST_LOCKDOWN,
  ];
  if (relay.host) lines.push(`set -g tmate-server-host "${relay.host}"`, `set -g tmate-server-port ${relay.port}`);
  if (fingerprint) lines.push(`set -g tmate-server-ed25519-fingerprint "${fingerprint}"`);
  return `${lines.join('\n')}\n`;
}

async function resolveBin(bin: string): Promise<string | undefined> {
  const candidates = bin.includes('/') ? [bin] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, bin));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}
