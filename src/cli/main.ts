import { existsSync } from 'node:fs';
import { authPaths } from '../adapters/bus/nats/auth/principals.ts';
import { Command, InvalidArgumentError } from 'commander';
import type { Approval, Handoff, Share } from '../api/schemas.ts';
import { Verbs, type Verb } from '../api/subjects.ts';
import { defaultStateDir, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { installCrashGuard } from '../service/crashGuard.ts';
import { startService, VERSION } from '../service/service.ts';
import { connectOrExit, type Reply } from './client.ts';
import { registerAuditCommands } from './auditCommands.ts';
import { registerPolicyCommands } from './policyCommands.ts';
import { registerPrincipalCommands } from './principalCommands.ts';
import { registerRecordingCommands } from './recordingCommands.ts';
import { ExitCodes, formatApproval, formatApprovals, formatHandoff, formatShare, formatTable, spinner } from './format.ts';

const program = new Command('termshare')
  .version(VERSION)
  .description('Share one terminal safely, through upterm, behind a policy gate.')
  .option('--creds <file>', 'credentials to connect with (TERMSHARE_CREDS; default: yours from the state dir)');

function requesterOf(spec: string): { kind: 'human' | 'ai'; id: string } {
  const m = spec.match(/^(human|ai):(.+)$/);
  if (!m) throw new InvalidArgumentError('use human:<id> or ai:<id>');
  return { kind: m[1] as 'human' | 'ai', id: m[2]! };
}
const AS_HELP = 'act as human:<id>|ai:<id>, with their credentials from the state dir (default: yours)';
/**
 * The body names someone only when asked to act as a principal whose credentials are not at
 * hand: the service then refuses, saying who the caller is. Otherwise the credentials speak.
 */
function claim(as: string | undefined, field: 'requester' | 'approver'): Record<string, unknown> {
  if (!as) return {};
  const who = requesterOf(as);
  const creds = program.opts<{ creds?: string }>().creds ?? process.env.TERMSHARE_CREDS;
  return !creds && existsSync(authPaths(defaultStateDir()).of(as)) ? {} : { [field]: who };
}
const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a whole number of seconds above 0');
  return n;
};

async function call<T>(verb: Verb, body: unknown, opts: { json?: boolean; wait?: string; as?: string }, show: (v: T) => string): Promise<never> {
  const client = await connectOrExit({ creds: program.opts<{ creds?: string }>().creds, as: opts.as });
  const done = opts.wait ? spinner(opts.wait) : () => {};
  let reply: Reply<T>;
  try {
    reply = await client.request<T>(verb, body);
  } catch (e) {
    done();
    console.error(`termshare: no answer on ${verb}: ${(e as Error).message}; is \`termshare serve\` running?`);
    process.exit(ExitCodes.unreachable);
  }
  done();
  await client.close();
  if (reply.ok) {
    console.log(opts.json ? JSON.stringify(reply.value, null, 2) : show(reply.value));
    process.exit(0);
  }
  if (opts.json) console.log(JSON.stringify({ error: { code: reply.code, message: reply.message } }, null, 2));
  else console.error(`termshare: ${reply.code}: ${reply.message}`);
  process.exit(ExitCodes[reply.code] ?? 1);
}

program
  .command('serve')
  .description('run the service (embedded NATS unless TERMSHARE_NATS_URL is set)')
  .option('--nats-url <url>', 'NATS server to use (TERMSHARE_NATS_URL)')
  .option('--state-dir <dir>', 'state directory (TERMSHARE_STATE_DIR)')
  .option('--policy <file>', 'Cedar policy file (TERMSHARE_POLICY)')
  .option('--entities <file>', 'Cedar entities file (TERMSHARE_ENTITIES)')
  .option('--upterm-server <url>', 'upterm relay, ssh://host:port (TERMSHARE_UPTERM_SERVER)')
  .option('--tmux-socket <name>', 'tmux socket name (TERMSHARE_TMUX_SOCKET)')
  .action(async (o: Record<string, string | undefined>) => {
    const env = { ...process.env };
    if (o.stateDir) env.TERMSHARE_STATE_DIR = o.stateDir;
    const config = loadConfig(env, {
      natsUrl: o.natsUrl,
      policyFile: o.policy,
      entitiesFile: o.entities,
      tmuxSocket: o.tmuxSocket,
    });
    if (o.uptermServer) config.upterm.server = o.uptermServer;
    const log = createLogger(config.logLevel);
    // Last resort only: no input should reach it (see src/service/crashGuard.ts).
    installCrashGuard(log);
    let svc;
    try {
      svc = await startService(config, log);
    } catch (e) {
      console.error(`termshare: cannot start: ${(e as Error).message}`);
      process.exit(1);
    }
    console.log(`termshare ready nats=${svc.natsUrl}`);
    // `on`, not `once`: the handlers stay installed while the shares end, so a second signal is
    // ours to answer (and execa's signal-exit never sees the service as unhandled and re-raises).
    let ending = false;
    const shutdown = async (signal: string) => {
      if (ending) {
        log.warn({ signal }, 'still ending shares (a third signal would not be faster); send SIGKILL to abandon them');
        return;
      }
      ending = true;
      log.info({ signal }, 'ending every share and stopping');
      await svc.stop();
      log.info({ signal }, 'every share ended and recorded; stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  });

program
  .command('share <terminal>')
  .description('share a terminal (tmux:<session>) and print the link')
  .option('-b, --backend <name>', 'upterm or tmate', 'upterm')
  .option('-t, --ttl <seconds>', 'time to live', positiveInt)
  .option('-w, --read-write', 'let participants type (default: read-only)')
  .option('-r, --reason <text>', 'why (recorded in the audit trail)')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((terminal: string, o) =>
    call<{ share: Share }>(
      Verbs.shareStart,
      {
        terminal,
        backend: o.backend,
        ...(o.ttl ? { ttlSeconds: o.ttl } : {}),
        access: o.readWrite ? 'read-write' : 'read-only',
        ...claim(o.as, 'requester'),
        ...(o.reason ? { reason: o.reason } : {}),
      },
      { json: o.json, wait: `sharing ${terminal}: waiting for the link`, as: o.as },
      (v) => formatShare(v.share),
    ),
  );

for (const [name, verb, what] of [
  ['stop', Verbs.shareStop, 'end a share'],
  ['revoke', Verbs.shareRevoke, 'revoke a share: every participant is disconnected'],
] as const) {
  program
    .command(`${name} <shareId>`)
    .description(what)
    .option('--as <kind:id>', AS_HELP)
    .option('-r, --reason <text>', 'why')
    .option('--json', 'print JSON')
    .action((shareId: string, o) =>
      call<{ share: Share }>(verb, { shareId, ...claim(o.as, 'requester'), ...(o.reason && name === 'revoke' ? { reason: o.reason } : {}) }, { json: o.json, as: o.as }, (v) => formatShare(v.share)),
    );
}

program
  .command('switch <shareId> <backend>')
  .description('move a share to another backend (upterm or tmate): new link first, then the old one ends')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((shareId: string, backend: string, o) =>
    call<{ share: Share }>(Verbs.shareSwitch, { shareId, backend, ...claim(o.as, 'requester') }, { json: o.json, wait: `switching ${shareId} to ${backend}`, as: o.as }, (v) => formatShare(v.share)),
  );

program
  .command('approvals')
  .description('list approvals (pending ones by default)')
  .option('--state <state>', 'pending, approved, rejected, timed-out, withdrawn or all', 'pending')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((o: { state: string; json?: boolean; as?: string }) =>
    call<{ approvals: Approval[] }>(Verbs.approvalList, o.state === 'all' ? {} : { state: o.state }, { json: o.json, as: o.as }, (v) => formatApprovals(v.approvals)),
  );

for (const [name, decision] of [['approve', 'approve'], ['reject', 'reject']] as const) {
  program
    .command(`${name} <approvalId>`)
    .description(`${name} a pending request`)
    .option('--as <kind:id>', AS_HELP)
    .option('-c, --comment <text>', 'why (recorded in the audit trail)')
    .option('--json', 'print JSON')
    .action((approvalId: string, o) =>
      call<{ approval: Approval }>(
        Verbs.approvalDecide,
        { approvalId, ...claim(o.as, 'approver'), decision, ...(o.comment ? { comment: o.comment } : {}) },
        { json: o.json, as: o.as },
        (v) => formatApproval(v.approval),
      ),
    );
}

const handoffCmd = program.command('handoff').description('hand a terminal\'s input to someone else (an AI agent, or back)');
handoffCmd
  .command('request <terminal>')
  .description('ask to hand input over; prints the handoff (and its approval, if a policy asks for one)')
  .requiredOption('--to <kind:id>', 'who gets the lease, e.g. ai:claude')
  .option('--as <kind:id>', AS_HELP)
  .option('-r, --reason <text>', 'why (recorded in the audit trail)')
  .option('--json', 'print JSON')
  .action((terminal: string, o) =>
    call<{ handoff: Handoff }>(
      Verbs.handoffRequest,
      { terminal, to: requesterOf(o.to), ...claim(o.as, 'requester'), ...(o.reason ? { reason: o.reason } : {}) },
      { json: o.json, wait: `handing ${terminal} over`, as: o.as },
      (v) => formatHandoff(v.handoff),
    ),
  );
handoffCmd
  .command('release <handoffId>')
  .description('give input back (the holder), or take it back (the one who handed it off)')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((handoffId: string, o) => call<{ handoff: Handoff }>(Verbs.handoffRelease, { handoffId, ...claim(o.as, 'requester') }, { json: o.json, as: o.as }, (v) => formatHandoff(v.handoff)));
handoffCmd
  .command('status <handoffId>')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((handoffId: string, o) => call<{ handoff: Handoff }>(Verbs.handoffGet, { handoffId }, { json: o.json, as: o.as }, (v) => formatHandoff(v.handoff)));

program
  .command('extend <shareId> <ttlSeconds>')
  .description('set a new expiry, now + ttlSeconds')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((shareId: string, ttl: string, o) =>
    call<{ share: Share }>(Verbs.shareExtend, { shareId, ttlSeconds: positiveInt(ttl), ...claim(o.as, 'requester') }, { json: o.json, as: o.as }, (v) => formatShare(v.share)),
  );

program
  .command('status [shareId]')
  .description('one share, or a table of all')
  .option('--terminal <ref>', 'only shares of this terminal')
  .option('--as <kind:id>', AS_HELP)
  .option('--json', 'print JSON')
  .action((shareId: string | undefined, o) =>
    shareId
      ? call<{ share: Share }>(Verbs.shareGet, { shareId }, { json: o.json, as: o.as }, (v) => formatShare(v.share))
      : call<{ shares: Share[] }>(Verbs.shareList, o.terminal ? { terminal: o.terminal } : {}, { json: o.json, as: o.as }, (v) => formatTable(v.shares)),
  );

program
  .command('schema')
  .description('print the JSON Schema of every request, the share, events, audit records and badges')
  .action(async () => {
    const { contractJsonSchema } = await import('../api/jsonSchema.ts');
    console.log(JSON.stringify(contractJsonSchema(), null, 2));
  });

program
  .command('demo')
  .description('run a loopback relay and the service, share a demo tmux terminal, print its link and status')
  .option('--once', 'end right after showing the share (the default without a terminal on stdin)')
  .action(async (o: { once?: boolean }) => {
    const { runDemo } = await import('./demo.ts');
    await runDemo({ once: Boolean(o.once) });
    process.exit(0);
  });

program
  .command('inspect')
  .description('development inspector: print every actor transition live (serve with TERMSHARE_INSPECT=1)')
  .option('--actor <id>', 'only this actor (a share or handoff id, "supervisor", "worker", "approval")')
  .option('--heartbeats', 'also show heartbeat transitions (one a second per worker)')
  .option('--json', 'print JSON lines')
  .action(async (o: { actor?: string; json?: boolean; heartbeats?: boolean }) => {
    const { formatInspect } = await import('../service/inspect.ts');
    const client = await connectOrExit({ creds: program.opts<{ creds?: string }>().creds });
    const prefix = process.env.TERMSHARE_PREFIX ?? 'termshare';
    const subject = `${prefix}.inspect.${o.actor ? o.actor.replace(/[^A-Za-z0-9_-]/g, '_') : '>'}`;
    console.error(`inspecting ${subject} (Ctrl-C to stop; the service needs TERMSHARE_INSPECT=1)`);
    for await (const m of client.nc.subscribe(subject)) {
      const rec = m.json<{ event: string }>();
      if (!o.heartbeats && rec.event.endsWith('.HEARTBEAT')) continue;
      console.log(o.json ? m.string() : formatInspect(m.json()));
    }
  });

program
  .command('panel')
  .description('the lane panel: a loopback web page of shared terminals and their badges, live')
  .option('--port <port>', 'port (default: a free one)', (v) => Number(v))
  .action(async (o: { port?: number }) => {
    const { startPanel } = await import('../panel/server.ts');
    const client = await connectOrExit({ creds: program.opts<{ creds?: string }>().creds });
    const panel = await startPanel(client, { prefix: process.env.TERMSHARE_PREFIX ?? 'termshare', ...(o.port ? { port: o.port } : {}) });
    console.log(`termshare panel ${panel.url}`);
    const stop = () => void panel.close().then(() => client.close()).then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

registerPolicyCommands(program);
registerPrincipalCommands(program);
registerAuditCommands(program);
registerRecordingCommands(program);

await program.parseAsync(process.argv);
