import { checkBadges } from '../api/badgeCheck.ts';
import { Approval, EventBody, type Badge } from '../api/schemas.ts';
import { BADGE_BUCKET, HandoffEventTypes, SERVICE_NAME, Verbs } from '../api/subjects.ts';
import type { TermshareClient } from '../cli/client.ts';
import { lanesOf, type Lane, type Lease } from './lanes.ts';

export type PanelLog = (fields: Record<string, unknown>, msg: string) => void;

/** What the page shows: sent whole on every change (never a link: those only on a click). */
export type PanelState = {
  service: 'up' | 'down';
  /** Why the service is taken to be down, and what to do. */
  problem?: string;
  principal: string;
  lanes: Lane[];
  /** The panel server's clock, so the page counts time left against it rather than its own. */
  now: string;
};

const LEASE_ENDS: ReadonlySet<string> = new Set([HandoffEventTypes.released, HandoffEventTypes.failed, HandoffEventTypes.withdrawn, HandoffEventTypes.closed]);
/** While no service answers, how often the panel asks again (it has no events to go by then). */
const DOWN_RETRY_MS = 2000;
/**
 * While the service answers, how often the panel pings it (NATS micro discovery, `$SRV.PING`:
 * no verb, no policy, no audit), so that a service that stops with nothing live is noticed.
 */
const PING_MS = 5000;
/** The micro framework answers a ping itself; through the account import a gone service is a timeout, not "no responders". */
const PING_TIMEOUT_MS = 3000;
/** How long a read may take: a busy service is slow, not gone (no service at all answers "no responders" at once). */
const READ_TIMEOUT_MS = 10_000;
/** Changes within this window are read once: a share's start writes its badge and events together. */
const COALESCE_MS = 50;

/**
 * The panel's view of the service, kept current by the service's own messages: the badge
 * bucket's changes, approval events and handoff events (the lease an AI holds). On each it reads
 * `badge.list` and `approval.list` once, as the panel's principal, and tells listeners when what
 * the page shows has changed. It reads no JetStream and creates nothing: with no service it says so.
 */
export class PanelFeed {
  private state: PanelState;
  private shown = '';
  private readonly leases = new Map<string, Lease>();
  private readonly listeners = new Set<(s: PanelState) => void>();
  private readonly subs: { unsubscribe(): void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly pinger: NodeJS.Timeout;
  private reading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** The badges as last read, checked (`/api/badges`). */
  badges: Badge[] = [];

  constructor(
    private readonly client: TermshareClient,
    private readonly prefix: string,
    private readonly log: PanelLog,
  ) {
    this.state = { service: 'down', problem: 'not read yet', principal: client.principal, lanes: [], now: new Date().toISOString() };
    const watch = (subject: string, on: (subject: string, body: unknown) => void) =>
      this.subs.push(
        client.nc.subscribe(subject, {
          callback: (e, m) => {
            if (e || !m) return this.log({ subject, err: String(e) }, 'change feed failed');
            let body: unknown;
            try {
              body = m.data.length ? m.json() : undefined;
            } catch {
              body = undefined;
            }
            on(m.subject, body);
            this.changed();
          },
        }),
      );
    watch(`$KV.${BADGE_BUCKET}.>`, () => undefined);
    watch(`${prefix}.events.approval.>`, () => undefined);
    watch(`${prefix}.events.share.*.awaiting-approval`, () => undefined);
    watch(`${prefix}.events.handoff.>`, (_s, body) => this.onHandoff(body));
    this.pinger = setInterval(() => void this.ping(), PING_MS);
    this.pinger.unref();
  }

  private async ping(): Promise<void> {
    if (this.state.service !== 'up' || this.client.nc.isClosed()) return;
    try {
      await this.client.nc.request(`$SRV.PING.${SERVICE_NAME}`, '', { timeout: PING_TIMEOUT_MS });
    } catch {
      this.changed();
    }
  }

  current(): PanelState {
    return { ...this.state, now: new Date().toISOString() };
  }

  /** Calls `fn` with every new state; returns how to stop. */
  onChange(fn: (s: PanelState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Something changed (or an action was taken): read the service again, soon, once. */
  changed(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), COALESCE_MS);
  }

  /** Reads the service now; concurrent calls fold into one more read after the current one. */
  async refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read().finally(() => (this.reading = undefined));
    await this.reading;
    if (this.again && !this.closed) {
      this.again = false;
      await this.refresh();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    for (const s of this.subs) s.unsubscribe();
    this.listeners.clear();
  }

  private onHandoff(body: unknown): void {
    const e = EventBody.safeParse(body);
    if (!e.success || !e.data.handoffId) return;
    const { handoffId, terminal, type, data } = e.data;
    if (type === HandoffEventTypes.transferred && terminal && typeof data.to === 'string') this.leases.set(handoffId, { handoffId, terminal, to: data.to });
    else if (LEASE_ENDS.has(type)) this.leases.delete(handoffId);
  }

  private async read(): Promise<void> {
    const [b, a] = await Promise.all([this.ask(Verbs.badgeList, {}), this.ask(Verbs.approvalList, { state: 'pending' })]);
    let next: PanelState;
    if ('problem' in b || 'problem' in a) {
      const problem = 'problem' in b ? b.problem : (a as { problem: string }).problem;
      next = { service: 'down', problem, principal: this.client.principal, lanes: [], now: '' };
      clearTimeout(this.timer);
      if (!this.closed) this.timer = setTimeout(() => void this.refresh(), DOWN_RETRY_MS);
    } else {
      this.badges = this.checked(b.value);
      next = { service: 'up', principal: this.client.principal, lanes: lanesOf(this.badges, this.approvals(a.value), [...this.leases.values()]), now: '' };
    }
    const key = JSON.stringify(next);
    this.state = next;
    if (key === this.shown) return;
    this.shown = key;
    const s = this.current();
    for (const fn of this.listeners) fn(s);
  }

  private async ask(verb: typeof Verbs.badgeList | typeof Verbs.approvalList, body: object): Promise<{ value: unknown } | { problem: string }> {
    if (this.client.nc.isClosed()) return { problem: 'the panel lost its NATS connection: restart `termshare panel`' };
    try {
      const r = await this.client.request<unknown>(verb, body, READ_TIMEOUT_MS);
      if (r.ok) return { value: r.value };
      // A refusal is an answer: the service is there, and this principal may not see these.
      this.log({ verb, code: r.code }, 'the service refused a read');
      return { value: {} };
    } catch (e) {
      return { problem: `no termshare service answers (${verb}: ${(e as Error).message}): start one with \`termshare serve\`` };
    }
  }

  // Whatever comes back is checked against the contract: a malformed badge or approval is skipped and logged, never shown.
  private checked(value: unknown): Badge[] {
    const raw = (value as { badges?: unknown })?.badges;
    const { badges, skipped } = checkBadges(Array.isArray(raw) ? raw : []);
    if (skipped.length) this.log({ skipped: skipped.length, why: skipped.slice(0, 3) }, 'skipped badges that are not badges');
    return badges;
  }

  private approvals(value: unknown): Approval[] {
    const raw = (value as { approvals?: unknown })?.approvals;
    const all = Array.isArray(raw) ? raw : [];
    const good = all.flatMap((x) => {
      const p = Approval.safeParse(x);
      return p.success ? [p.data] : [];
    });
    if (good.length < all.length) this.log({ skipped: all.length - good.length }, 'skipped approvals that are not approvals');
    return good;
  }
}
