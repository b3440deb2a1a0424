import type { BadgeStore } from '../adapters/bus/nats/badges.ts';
import type { TerminalControl } from '../adapters/terminals/types.ts';
import type { Logger } from '../log.ts';
import type { ShareEffects } from './effects.ts';
import type { LiveEntry, LiveJournal } from './liveJournal.ts';

const REASON = 'the service ended (killed or crashed) without ending it; recorded at the next start';

/**
 * Before `ready`, a service that finds what its previous run left live writes the end record of
 * each share and handoff that died with it (in its own causation chain), gives locked clients
 * their input back, and clears those terminals' badges. Each leftover leaves the journal only once
 * dealt with, so a start that fails half-way leaves the rest to the next one.
 */
export async function recoverLeftovers(
  leftovers: LiveEntry[],
  deps: {
    effects: ShareEffects;
    control: TerminalControl;
    badges: BadgeStore;
    journal: LiveJournal;
    log: Logger;
    /** Shares another node of the cluster already reported lost while this one was away: not reported again. */
    reported?: ReadonlySet<string>;
  },
): Promise<{ shares: number; handoffs: number; unlocked: number; badgesCleared: number }> {
  let unlocked = 0;
  let badgesCleared = 0;
  // Only the badges of what died here: the bucket is shared by every service on the NATS server.
  const clearBadge = async (terminal: string) => {
    await deps.badges.clear(terminal).then(() => badgesCleared++, (x: Error) => deps.log.warn({ terminal, err: x.message }, 'badge not cleared'));
  };
  for (const e of leftovers) {
    const subject = { entity: e.kind, id: e.id, correlationId: e.correlationId, ...(e.lastEventId ? { lastEventId: e.lastEventId } : {}), snapshot: { context: { terminal: e.terminal, approvalId: '' } } };
    if (e.kind === 'share') {
      if (!deps.reported?.has(e.id)) await deps.effects.record(subject, { event: 'failed', audit: 'fail', outcome: 'lost', actor: 'service', data: { reason: 'service-died', message: REASON } });
      await clearBadge(e.terminal);
      await deps.journal.drop(e.id);
      continue;
    }
    const locked = e.lockedClients ?? [];
    // Always: unlocking also lifts the lease marker that keeps guests' input out.
    await deps.control.unlockClients(e.terminal, locked).catch((x: Error) => deps.log.warn({ handoffId: e.id, err: x.message }, 'clients not unlocked'));
    unlocked += locked.length;
    await deps.effects.record(subject, { event: 'failed', audit: 'handoff.end', outcome: 'lost', actor: 'service', data: { reason: 'service-died', message: REASON, unlockedClients: locked.length } });
    await deps.journal.drop(e.id);
  }
  const summary = { shares: leftovers.filter((e) => e.kind === 'share').length, handoffs: leftovers.filter((e) => e.kind === 'handoff').length, unlocked, badgesCleared };
  if (leftovers.length || badgesCleared) deps.log.warn(summary, 'ended what the previous run left live');
  return summary;
}
