import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { NODE_BUCKET } from '../../api/subjects.ts';
import type { Logger } from '../../log.ts';

/** A share as a node announces it: enough for another node to write its end record. */
const AnnouncedShare = z.object({ id: z.string(), correlationId: z.string(), terminal: z.string(), lastEventId: z.string().optional() });
export type AnnouncedShare = z.infer<typeof AnnouncedShare>;

/** One node's key in the presence bucket: its last heartbeat, its live shares, and whether another node declared it lost. */
export const NodeBeat = z.object({
  node: z.string(),
  at: z.string(),
  startedAt: z.string(),
  shares: z.array(AnnouncedShare),
  /** Set by the one node that won the right to report this node's loss (a compare-and-set on this key). */
  lost: z.object({ at: z.string(), by: z.string() }).optional(),
});
export type NodeBeat = z.infer<typeof NodeBeat>;

export type PresenceOptions = {
  node: string;
  replicas: number;
  /** A heartbeat older than this is a lost node. Heartbeats go every quarter of it. */
  timeoutMs: number;
  liveShares: () => AnnouncedShare[];
  log: Logger;
};

/**
 * Node presence over a KV bucket: each node puts its heartbeat (with its live shares) under its own
 * name; every node reads the others' on each tick. A node whose heartbeat is older than the timeout
 * is lost; exactly one surviving node reports it (the one whose compare-and-set on the lost node's
 * key lands), so nothing is reported twice.
 */
export class Presence {
  private kv?: KV;
  private timer?: NodeJS.Timeout;
  private readonly startedAt = new Date().toISOString();
  private beats = new Map<string, NodeBeat>();
  private ticking: Promise<void> = Promise.resolve();
  private scanning = false;
  private beating?: Promise<void>;
  private beatAgain = false;
  /** Called with each node this node won the report of: write its shares' end records, clear its badges. */
  onLost?: (lost: NodeBeat) => Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: PresenceOptions,
  ) {}

  /**
   * Opens the bucket and returns what this node's key held before this start (undefined on a first
   * start). A key not yet marked lost is taken back at once with a compare-and-set (a fresh beat
   * over the same revision): from then on no other node can claim it, and when another node claimed
   * it first, the key says so. Either way exactly one of them reports the shares that died.
   */
  async open(): Promise<NodeBeat | undefined> {
    this.kv = await new Kvm(this.nc).create(NODE_BUCKET, { history: 1, replicas: this.opts.replicas });
    const e = await this.kv.get(this.opts.node);
    if (!e || e.operation !== 'PUT') return undefined;
    const before = NodeBeat.safeParse(safeJson(e.string()));
    if (!before.success || before.data.lost) return before.success ? before.data : undefined;
    const taken = await this.kv.update(this.opts.node, JSON.stringify({ ...before.data, at: new Date().toISOString() }), e.revision).then(
      () => true,
      () => false,
    );
    return taken ? before.data : this.read(this.opts.node);
  }

  /** Announces this node now and on every tick; follows the others. */
  start(): void {
    const every = Math.max(200, Math.floor(this.opts.timeoutMs / 4));
    // Beats on a timer of their own: a slow scan of the others never delays this node's heartbeat.
    this.timer = setInterval(() => {
      this.announce();
      void this.tick();
    }, every);
    this.timer.unref();
    this.announce();
    void this.tick();
  }

  /** Re-announces (the live shares changed, or it is time); one beat in flight at a time, the newest state. */
  announce(): void {
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    this.beating = this.beat()
      .catch((e: Error) => this.opts.log.warn({ err: e.message }, 'heartbeat not written'))
      .finally(() => {
        this.beating = undefined;
        if (this.beatAgain) {
          this.beatAgain = false;
          this.announce();
        }
      });
  }

  /**
   * The other nodes of the cluster: every node with a key that is not marked lost. A node that died
   * but is not yet declared lost is still listed: a request to it fails at once (no responders), so
   * a heartbeat late under load never makes its terminals look like nobody's.
   */
  liveNodes(): string[] {
    return [...this.beats.values()].filter((b) => b.node !== this.opts.node && !b.lost).map((b) => b.node).sort();
  }

  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await this.beating;
    // An orderly stop ended every share: the node says it is gone, so nobody reports it lost.
    if (opts.leave) await this.kv?.delete(this.opts.node).catch(() => undefined);
  }

  private serial(step: () => Promise<void>): Promise<void> {
    this.ticking = this.ticking.then(step).catch((e: Error) => this.opts.log.warn({ err: e.message }, 'presence tick failed'));
    return this.ticking;
  }

  private tick(): Promise<void> {
    if (this.scanning) return this.ticking;
    this.scanning = true;
    return this.serial(() => this.follow().finally(() => (this.scanning = false)));
  }

  private async beat(): Promise<void> {
    const beat: NodeBeat = { node: this.opts.node, at: new Date().toISOString(), startedAt: this.startedAt, shares: this.opts.liveShares() };
    await this.kv!.put(this.opts.node, JSON.stringify(beat));
  }

  private async follow(): Promise<void> {
    const seen = new Map<string, NodeBeat>();
    for await (const key of await this.kv!.keys()) {
      const e = await this.kv!.get(key);
      if (!e || e.operation !== 'PUT') continue;
      const beat = NodeBeat.safeParse(safeJson(e.string()));
      if (!beat.success) continue;
      seen.set(key, beat.data);
      if (key !== this.opts.node && !beat.data.lost && Date.now() - Date.parse(beat.data.at) > this.opts.timeoutMs) await this.claim(beat.data, e.revision);
    }
    this.beats = seen;
  }

  /** Only the node whose update of the lost node's key lands reports it. */
  private async claim(beat: NodeBeat, revision: number): Promise<void> {
    const marked: NodeBeat = { ...beat, lost: { at: new Date().toISOString(), by: this.opts.node } };
    const won = await this.kv!.update(beat.node, JSON.stringify(marked), revision).then(
      () => true,
      () => false,
    );
    if (!won) return;
    this.opts.log.warn({ lostNode: beat.node, shares: beat.shares.length, lastBeat: beat.at }, 'a node stopped beating: its shares are reported lost');
    await this.onLost?.(marked);
  }

  private async read(node: string): Promise<NodeBeat | undefined> {
    const e = await this.kv!.get(node);
    if (!e || e.operation !== 'PUT') return undefined;
    const beat = NodeBeat.safeParse(safeJson(e.string()));
    return beat.success ? beat.data : undefined;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
