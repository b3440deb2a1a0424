import type { Command } from 'commander';
import type { Share } from '../api/schemas.ts';
import { CliFailure } from './failure.ts';
import { requestValue, withClient } from './request.ts';
import { LineView, ScreenView, type WatchView } from './watchView.ts';

/**
 * `status --watch`: the table again each time a share event arrives (events.read), coalesced so a
 * burst costs one `share.list`; nothing is asked while nothing happens. Ends on Ctrl-C.
 */
export async function watchStatus(program: Command, o: { terminal?: string; all?: boolean; as?: string; json?: boolean }): Promise<never> {
  await withClient(program, o.as, async (c, timeoutMs) => {
    const list = async () => {
      const { shares } = await requestValue<{ shares: Share[] }>(c, 'share.list', o.terminal ? { terminal: o.terminal } : {}, timeoutMs);
      return shares;
    };
    const sub = c.nc.subscribe(`${c.prefix}.events.share.>`);
    // Subscribed before the first list: no change between the two is missed.
    await c.nc.flush();
    let shares = await list();
    const view: WatchView = process.stdout.isTTY && !o.json ? new ScreenView(Boolean(o.all)) : new LineView(o);
    view.show(shares, Date.now());
    // Line mode: say on stderr when changes start to count (a script can wait for this line).
    if (!view.ticks) process.stderr.write('termshare: watching share events (Ctrl-C to stop)\n');
    const tick = view.ticks ? setInterval(() => view.show(shares, Date.now()), 1000) : undefined;

    let pending: Promise<void> | undefined;
    let again = false;
    const refresh = (): Promise<void> => {
      if (pending) return ((again = true), pending);
      pending = (async () => {
        do {
          again = false;
          shares = await list();
          view.show(shares, Date.now());
        } while (again);
      })().finally(() => (pending = undefined));
      return pending;
    };

    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const events = (async () => {
      for await (const m of sub) {
        void m;
        await refresh().catch(() => undefined);
      }
    })();
    try {
      const ended = await Promise.race([stopped, events, sub.closed]);
      if (ended instanceof Error) throw ended;
    } catch (e) {
      if (e instanceof CliFailure) throw e;
      throw new CliFailure('policy_denied', `cannot follow share events: ${(e as Error).message}; the policy must permit you events.read`);
    } finally {
      clearInterval(tick);
      sub.unsubscribe();
      view.end();
    }
  }, 'slow');
  process.exit(0);
}
