import type { NatsConnection } from '@nats-io/transport-node';
import type { BadgeStore } from '../../adapters/bus/nats/badges.ts';
import type { Subjects } from '../../api/subjects.ts';
import type { Logger } from '../../log.ts';
import type { ShareEffects } from '../effects.ts';
import type { ClusterRouting } from '../endpoints.ts';
import type { LiveJournal } from '../liveJournal.ts';
import { serveOwns, type OwnsCheck } from './owners.ts';
import { Presence, type NodeBeat } from './presence.ts';

const LOST = 'its node stopped beating (killed, crashed or cut off) while it was live; reported by another node of the cluster';

export type ClusterNodeDeps = {
  nc: NatsConnection;
  subs: Subjects;
  node: string;
  replicas: number;
  timeoutMs: number;
  journal: LiveJournal;
  effects: ShareEffects;
  badges: BadgeStore;
  owns: OwnsCheck;
  log: Logger;
};

/**
 * This service as one node of a cluster: its presence (heartbeat with its live shares), the report
 * of a lost node's shares (by exactly one survivor), the `owns` answers, and what the router needs.
 */
export class ClusterNode {
  private readonly presence: Presence;
  private owns?: { unsubscribe(): void };

  constructor(private readonly d: ClusterNodeDeps) {
    this.presence = new Presence(d.nc, {
      node: d.node,
      replicas: d.replicas,
      timeoutMs: d.timeoutMs,
      liveShares: () => d.journal.live().filter((e) => e.kind === 'share').map((e) => ({ id: e.id, correlationId: e.correlationId, terminal: e.terminal, ...(e.lastEventId ? { lastEventId: e.lastEventId } : {}) })),
      log: d.log,
    });
    this.presence.onLost = (beat) => this.reportLost(beat);
  }

  /**
   * Opens presence; returns the ids of this node's shares another node already reported lost while
   * it was away, so that its own restart recovery does not report them a second time.
   */
  async open(): Promise<Set<string>> {
    const before = await this.presence.open();
    return new Set(before?.lost ? before.shares.map((s) => s.id) : []);
  }

  start(): void {
    this.owns = serveOwns(this.d.nc, this.d.subs, this.d.node, this.d.owns);
    this.d.journal.onChange = () => this.presence.announce();
    this.presence.start();
  }

  routing(): ClusterRouting {
    return { subs: this.d.subs, node: this.d.node, peers: () => this.presence.liveNodes(), owns: this.d.owns, forwardTimeoutMs: 60_000, askTimeoutMs: 5_000 };
  }

  async stop(): Promise<void> {
    this.owns?.unsubscribe();
    this.d.journal.onChange = undefined;
    await this.presence.stop({ leave: true });
  }

  /** A lost node's shares end as `lost` (event `failed`, audit `fail`) in this node's chain, and its badges go. */
  private async reportLost(beat: NodeBeat): Promise<void> {
    for (const s of beat.shares) {
      const subject = { entity: 'share' as const, id: s.id, correlationId: s.correlationId, ...(s.lastEventId ? { lastEventId: s.lastEventId } : {}), snapshot: { context: { terminal: s.terminal, approvalId: '' } } };
      await this.d.effects.record(subject, { event: 'failed', audit: 'fail', outcome: 'lost', actor: 'service', data: { reason: 'node-lost', node: beat.node, lastBeat: beat.at, message: LOST } });
    }
    const cleared = await this.d.badges.clearNode(beat.node).catch((e: Error) => (this.d.log.warn({ lostNode: beat.node, err: e.message }, 'badges of a lost node not cleared'), []));
    this.d.log.warn({ lostNode: beat.node, shares: beat.shares.length, badgesCleared: cleared.length }, 'reported a lost node');
  }
}
