import type { Backend } from '../../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../../errors.ts';
import type { BackendExit, BackendProbe, BackendSession, BackendStartSpec, ShareBackendAdapter } from '../types.ts';

export type MemoryMode = 'ok' | 'unreachable' | 'silent' | 'exit-early';

/**
 * In-memory twin of a backend, for unit and model tests. It passes the same contract suite as
 * the real upterm adapter (test/adapters/backends/contract.ts).
 */
export class MemoryBackend implements ShareBackendAdapter {
  constructor(readonly name: Backend = 'upterm') {}
  mode: MemoryMode = 'ok';
  readonly sessions = new Map<string, MemorySession>();
  private seq = 0;

  async start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>> {
    if (this.mode === 'unreachable') return err(new TermshareError(ErrorCodes.backendUnavailable, 'the memory relay is unreachable'));
    if (this.mode === 'exit-early') return err(new TermshareError(ErrorCodes.backendFailed, 'memory backend ended before giving a link'));
    if (this.mode === 'silent') {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(err(new TermshareError(ErrorCodes.backendFailed, `no link within ${spec.linkTimeoutMs} ms`))), spec.linkTimeoutMs);
        spec.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          resolve(err(new TermshareError(ErrorCodes.backendFailed, 'cancelled')));
        });
      });
    }
    const s = new MemorySession(this.name, `ssh ${this.name}${++this.seq}-${spec.shareId}@memory -p 2222`, 10_000 + this.seq);
    this.sessions.set(spec.shareId, s);
    return ok(s);
  }

  /** Live sessions (the twin's "processes"). */
  live(): MemorySession[] {
    return [...this.sessions.values()].filter((s) => s.isAlive());
  }
}

export class MemorySession implements BackendSession {
  link: { ssh: string };
  /** What the next heartbeat's probe says (tests set it to simulate a hung or reconnecting backend). */
  health: BackendProbe = { status: 'ok' };
  /** Set by tests: what a stop could not confirm. */
  unconfirmed?: string;
  private alive = true;
  private resolveExit!: (e: BackendExit) => void;
  readonly exited: Promise<BackendExit>;

  constructor(readonly backend: Backend, ssh: string, readonly pid: number) {
    this.link = { ssh };
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  isAlive(): boolean {
    return this.alive;
  }

  clients = 0;
  async connectedClients(): Promise<number> {
    return this.alive ? this.clients : 0;
  }

  async probe(): Promise<BackendProbe> {
    const h = this.health;
    if (h.status === 'ok' && h.link) {
      this.link = { ssh: h.link.ssh };
      this.health = { status: 'ok' };
    }
    return h;
  }

  /** Simulates the process dying by itself. */
  crash(message = 'memory backend crashed'): void {
    if (!this.alive) return;
    this.alive = false;
    this.resolveExit({ exitCode: 1, message });
  }

  async stop(): Promise<BackendExit> {
    if (this.alive) {
      this.alive = false;
      this.resolveExit({ signal: 'SIGTERM', message: 'memory backend stopped', ...(this.unconfirmed ? { unconfirmed: this.unconfirmed } : {}) });
    }
    return this.exited;
  }
}
