import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { authPaths } from '../adapters/bus/nats/auth/paths.ts';
import type { Share } from '../api/schemas.ts';
import { positiveSeconds, principalRef } from './args.ts';
import { defaultStateDir } from '../stateDir.ts';
import { examples } from './examples.ts';
import { usage } from './failure.ts';
import { formatShare, formatTable, isLive } from './format.ts';

export const AS_HELP = 'act as human:<id>|ai:<id>, with their credentials from the state dir (default: yours)';
/** `--as`: checked when parsed, so `--as bob` is a usage error (exit 2) before anything connects. */
export const asPrincipal = (v: string) => (principalRef(v), v);

/**
 * The body names someone only when asked to act as a principal whose credentials are not at
 * hand: the service then refuses, saying who the caller is. Otherwise the credentials speak.
 */
export function claim(program: Command, as: string | undefined, field: 'requester' | 'approver'): Record<string, unknown> {
  if (!as) return {};
  const creds = program.opts<{ creds?: string }>().creds || process.env.TERMSHARE_CREDS;
  return !creds && existsSync(authPaths(defaultStateDir()).of(as)) ? {} : { [field]: principalRef(as) };
}

type CallVerb = typeof import('./request.ts').callVerb;
/** callVerb, loaded when a verb runs: parsing and --help load no NATS code. */
export const call: CallVerb = async (...args) => (await import('./request.ts')).callVerb(...args);

/** share, stop, revoke, switch, extend, status: the verbs on shares. */
export function registerShareCommands(program: Command): void {
  program
    .command('share <terminal>')
    .description('share a terminal (tmux:<session>) and print the link')
    .addOption(new Option('-b, --backend <name>', 'upterm or tmate').choices(['upterm', 'tmate']).default('upterm'))
    .option('-t, --ttl <seconds>', 'time to live', positiveSeconds)
    .option('-w, --read-write', 'let participants type (default: read-only)')
    .option('-r, --reason <text>', 'why (recorded in the audit trail)')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare share tmux:work --ttl 900', 'termshare share tmux:work --read-write --reason "pairing on the deploy"', 'termshare share tmux:work --backend tmate --json'))
    .action((terminal: string, o) =>
      call<{ share: Share }>(
        program,
        'share.start',
        {
          terminal,
          backend: o.backend,
          ...(o.ttl ? { ttlSeconds: o.ttl } : {}),
          access: o.readWrite ? 'read-write' : 'read-only',
          ...claim(program, o.as, 'requester'),
          ...(o.reason ? { reason: o.reason } : {}),
        },
        { json: o.json, wait: `sharing ${terminal}: waiting for the link`, as: o.as },
        (v) => formatShare(v.share),
      ),
    );

  for (const [name, verb, what] of [
    ['stop', 'share.stop', 'end a share'],
    ['revoke', 'share.revoke', 'revoke a share: every participant is disconnected'],
  ] as const) {
    program
      .command(`${name} <shareId>`)
      .description(what)
      .option('-r, --reason <text>', 'why (recorded in the audit trail)')
      .option('--as <kind:id>', AS_HELP, asPrincipal)
      .option('--json', 'print JSON')
      .addHelpText('after', examples(`termshare ${name} <shareId>`, `termshare ${name} <shareId> --reason done`, `termshare ${name} <shareId> --json`))
      .action((shareId: string, o) =>
        call<{ share: Share }>(program, verb, { shareId, ...claim(program, o.as, 'requester'), ...(o.reason ? { reason: o.reason } : {}) }, { json: o.json, as: o.as, slow: true }, (v) => formatShare(v.share)),
      );
  }

  program
    .command('switch <shareId> <backend>')
    .description('move a share to another backend (upterm or tmate): new link first, then the old one ends')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare switch <shareId> tmate', 'termshare switch <shareId> upterm --json'))
    .action((shareId: string, backend: string, o) =>
      call<{ share: Share }>(program, 'share.switch', { shareId, backend, ...claim(program, o.as, 'requester') }, { json: o.json, wait: `switching ${shareId} to ${backend}`, as: o.as }, (v) => formatShare(v.share)),
    );

  program
    .command('extend <shareId> <ttlSeconds>')
    .description('set a new expiry, now + ttlSeconds')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('termshare extend <shareId> 1800', 'termshare extend <shareId> 600 --json'))
    .action((shareId: string, ttl: string, o) => {
      let ttlSeconds: number;
      try {
        ttlSeconds = positiveSeconds(ttl);
      } catch (e) {
        throw usage(`ttlSeconds: ${(e as Error).message}`);
      }
      return call<{ share: Share }>(program, 'share.extend', { shareId, ttlSeconds, ...claim(program, o.as, 'requester') }, { json: o.json, as: o.as }, (v) => formatShare(v.share));
    });

  program
    .command('status [shareId]')
    .description('the live shares as a table (--all: ended ones too), or one share')
    .option('--terminal <ref>', 'only shares of this terminal')
    .option('-a, --all', 'also the ended shares the service still remembers')
    .option('-w, --watch', 'keep the table on screen, redrawn as events arrive (one line per change when not a terminal)')
    .option('--as <kind:id>', AS_HELP, asPrincipal)
    .option('--json', 'print JSON (with --watch: one JSON line per change)')
    .addHelpText('after', examples('termshare status', 'termshare status --all', 'termshare status <shareId> --json', 'termshare status --watch', 'termshare status --terminal tmux:work --json'))
    .action(async (shareId: string | undefined, o: { terminal?: string; all?: boolean; watch?: boolean; as?: string; json?: boolean }) => {
      if (o.watch) {
        if (shareId) throw usage('--watch follows the table of shares: leave out the share id');
        const { watchStatus } = await import('./watch.ts');
        return watchStatus(program, o);
      }
      if (shareId) return call<{ share: Share }>(program, 'share.get', { shareId }, { json: o.json, as: o.as }, (v) => formatShare(v.share));
      const shown = (shares: Share[]) => (o.all ? shares : shares.filter(isLive));
      return call<{ shares: Share[] }>(
        program,
        'share.list',
        o.terminal ? { terminal: o.terminal } : {},
        { json: o.json, as: o.as },
        (v) => formatTable(shown(v.shares), { empty: o.all ? 'no shares' : 'no live shares (--all for ended ones)' }),
        (v) => ({ shares: shown(v.shares) }),
      );
    });
}
