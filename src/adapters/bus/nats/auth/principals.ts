import { open, readFile, rm, stat, writeFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { renderAuthConfig } from './authConfig.ts';
import { authPaths, type AuthPaths } from './paths.ts';
import { PRINCIPAL_PATTERN, newCredentials, readCredentials, writeCredentials, type Credentials } from './credentials.ts';

const Entry = z.object({
  principal: z.string().regex(PRINCIPAL_PATTERN),
  publicKey: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  /** The local user's own principal, made by the first `serve`. */
  operator: z.boolean().optional(),
});
export type PrincipalEntry = z.infer<typeof Entry>;
const Registry = z.object({ service: z.object({ publicKey: z.string() }), principals: z.array(Entry) });
type Registry = z.infer<typeof Registry>;

// In a module of its own so the CLI finds credentials without loading zod.
export { authPaths, type AuthPaths };

export class PrincipalError extends Error {}

/** Whether the policy lets a principal (`human:<id>`) read the broadcasts; none do without one. */
export type WatchCheck = (principal: string) => Promise<boolean>;

/**
 * Who may connect: the principals file (public keys only), the credentials files (0600) and the
 * nats-server accounts include rendered from them. Local administration: whoever can write the
 * state dir manages principals, as with ssh's authorized_keys.
 */
export class Principals {
  readonly paths: AuthPaths;
  private cache?: { mtime: number; byKey: Map<string, PrincipalEntry> };

  constructor(
    readonly stateDir: string,
    private readonly prefix: string,
    private readonly canWatch: WatchCheck = async () => false,
  ) {
    this.paths = authPaths(stateDir);
  }

  /** Writes the accounts file again, as the policy now decides who reads the broadcasts; true when it changed. */
  async render(): Promise<boolean> {
    return this.locked(async () => {
      const reg = await this.read();
      return reg ? this.write(reg) : false;
    });
  }

  /** First run: the service's own credentials and the local operator's; renders the accounts file. */
  async ensure(operator: string): Promise<{ service: Credentials; operator: PrincipalEntry }> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    return this.locked(() => this.ensureLocked(operator));
  }

  private async ensureLocked(operator: string): Promise<{ service: Credentials; operator: PrincipalEntry }> {
    if (!PRINCIPAL_PATTERN.test(operator)) throw new PrincipalError(`the operator principal ${JSON.stringify(operator)} is not human:<id> or ai:<id> (letters, digits, ._@+-)`);
    let service: Credentials;
    try {
      service = await readCredentials(this.paths.service);
    } catch {
      service = newCredentials('service:termshare');
      await writeCredentials(this.paths.service, service);
    }
    const reg = (await this.read()) ?? { service: { publicKey: service.publicKey }, principals: [] };
    reg.service = { publicKey: service.publicKey };
    let op = reg.principals.find((p) => p.operator && !p.revokedAt);
    if (!op) {
      const c = newCredentials(operator);
      await writeCredentials(this.paths.operator, c);
      op = { principal: operator, publicKey: c.publicKey, createdAt: new Date().toISOString(), operator: true };
      reg.principals = reg.principals.filter((p) => !(p.principal === operator && !p.revokedAt)).concat(op);
    }
    await this.write(reg);
    return { service, operator: op };
  }

  /** Issues credentials for a person or an agent; the file is written 0600 at `out` (default under the state dir). */
  async add(principal: string, out?: string): Promise<{ entry: PrincipalEntry; file: string }> {
    return this.locked(() => this.addLocked(principal, out));
  }

  private async addLocked(principal: string, out?: string): Promise<{ entry: PrincipalEntry; file: string }> {
    if (!PRINCIPAL_PATTERN.test(principal)) throw new PrincipalError(`${JSON.stringify(principal)} is not human:<id> or ai:<id> (letters, digits, ._@+- ; up to 64)`);
    const reg = await this.required();
    if (reg.principals.some((p) => p.principal === principal && !p.revokedAt)) {
      throw new PrincipalError(`${principal} already has credentials; revoke them first (\`termshare principal revoke ${principal}\`) to issue new ones`);
    }
    const c = newCredentials(principal);
    const file = out ?? this.paths.of(principal);
    await writeCredentials(file, c);
    const entry = { principal, publicKey: c.publicKey, createdAt: new Date().toISOString() };
    reg.principals.push(entry);
    await this.write(reg);
    return { entry, file };
  }

  /** Ends a principal's credentials: removed from the server's accounts (the caller reloads it) and refused by the service. */
  async revoke(principal: string): Promise<PrincipalEntry> {
    return this.locked(() => this.revokeLocked(principal));
  }

  private async revokeLocked(principal: string): Promise<PrincipalEntry> {
    const reg = await this.required();
    const entry = reg.principals.find((p) => p.principal === principal && !p.revokedAt);
    if (!entry) throw new PrincipalError(`${principal} has no live credentials (see \`termshare principal list\`)`);
    entry.revokedAt = new Date().toISOString();
    await this.write(reg);
    await rm(entry.operator ? this.paths.operator : this.paths.of(principal), { force: true });
    return entry;
  }

  async list(): Promise<PrincipalEntry[]> {
    return (await this.read())?.principals ?? [];
  }

  /** The principal a verified public key belongs to (revoked ones included, so a refusal can say so). */
  async byKey(publicKey: string): Promise<PrincipalEntry | undefined> {
    const mtime = await stat(this.paths.registry).then((s) => s.mtimeMs, () => -1);
    if (!this.cache || this.cache.mtime !== mtime) {
      const reg = await this.read();
      this.cache = { mtime, byKey: new Map((reg?.principals ?? []).map((p) => [p.publicKey, p])) };
    }
    return this.cache.byKey.get(publicKey);
  }

  /**
   * One writer at a time across processes (`serve` re-rendering on a policy change, `principal
   * add` from a shell): an exclusive lock file beside the registry. A lock older than 10 s is
   * left over from a crash and taken over.
   */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const lock = `${this.paths.registry}.lock`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > 10_000) await rm(lock, { force: true });
        else if (Date.now() > deadline) throw new PrincipalError(`${lock} is held by another termshare process; remove it if none runs`);
        else await new Promise((r) => setTimeout(r, 10));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async required(): Promise<Registry> {
    const reg = await this.read();
    if (!reg) throw new PrincipalError(`no principals yet under ${this.stateDir}: run \`termshare serve\` once (it makes the service's and your credentials)`);
    return reg;
  }

  private async read(): Promise<Registry | undefined> {
    const text = await readFile(this.paths.registry, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = Registry.safeParse(JSON.parse(text));
    if (!parsed.success) throw new PrincipalError(`${this.paths.registry} is not a principals file: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  /** The registry and the accounts include, each replaced atomically; true when the accounts changed. */
  private async write(reg: Registry): Promise<boolean> {
    await mkdir(join(this.stateDir, 'nats'), { recursive: true, mode: 0o700 });
    await atomic(this.paths.registry, JSON.stringify(reg, null, 2) + '\n');
    const live = await Promise.all(reg.principals.filter((p) => !p.revokedAt).map(async (p) => ({ publicKey: p.publicKey, watch: await this.canWatch(p.principal) })));
    const text = renderAuthConfig({ prefix: this.prefix, service: reg.service, principals: live });
    if ((await readFile(this.paths.authConfig, 'utf8').catch(() => '')) === text) return false;
    await atomic(this.paths.authConfig, text);
    return true;
  }
}

async function atomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
