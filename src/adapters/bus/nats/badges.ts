import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BADGE_BUCKET } from '../../../api/subjects.ts';
import { checkBadge } from '../../../api/badgeCheck.ts';
import type { Badge } from '../../../api/schemas.ts';

/**
 * KV keys allow only [-/_=.a-zA-Z0-9], so a terminal reference is stored under its base64url
 * encoding without padding: `tmux:demo` -> `dG11eDpkZW1v`. `decodeBadgeKey` reverses it.
 */
export const badgeKey = (terminal: string) => Buffer.from(terminal, 'utf8').toString('base64url');
export const decodeBadgeKey = (key: string) => Buffer.from(key, 'base64url').toString('utf8');

export class BadgeStore {
  private constructor(
    private readonly kv: KV,
    private readonly node?: string,
  ) {}

  /** `node`: the node whose terminals this store writes badges for (each badge carries it). */
  static async open(nc: NatsConnection, opts: { node?: string; replicas?: number } = {}): Promise<BadgeStore> {
    return new BadgeStore(await new Kvm(nc).create(BADGE_BUCKET, { history: 1, replicas: opts.replicas ?? 1 }), opts.node);
  }

  async put(badge: Badge): Promise<void> {
    await this.kv.put(badgeKey(badge.terminal), JSON.stringify(this.node ? { ...badge, node: this.node } : badge));
  }

  /** Clears every badge of `node`'s terminals (a lost node); returns the terminals cleared. */
  async clearNode(node: string): Promise<string[]> {
    const cleared: string[] = [];
    for (const b of await this.list()) {
      if (b.node !== node) continue;
      await this.kv.delete(badgeKey(b.terminal));
      cleared.push(b.terminal);
    }
    return cleared;
  }

  async clear(terminal: string): Promise<void> {
    await this.kv.delete(badgeKey(terminal));
  }

  /**
   * Every badge now in the bucket that is one: a value that is not a badge (not JSON, the wrong
   * shape, too large) is skipped and reported to `onSkip` with its key and why.
   */
  async list(onSkip: (key: string, why: string) => void = () => undefined): Promise<Badge[]> {
    const out: Badge[] = [];
    for await (const key of await this.kv.keys()) {
      const e = await this.kv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const c = checkBadge(e.value);
      if (c.ok) out.push(c.badge);
      else onSkip(key, c.why);
    }
    return out;
  }

  async get(terminal: string): Promise<Badge | undefined> {
    const e = await this.kv.get(badgeKey(terminal));
    if (!e || e.operation !== 'PUT') return undefined;
    const c = checkBadge(e.value);
    return c.ok ? c.badge : undefined;
  }
}
