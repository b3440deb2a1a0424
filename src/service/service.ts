import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Service } from '@nats-io/services';
import { auditKeyFiles, ensureAuditKey } from '../adapters/audit/jetstream/auditKey.ts';
import { AuditWriter } from '../adapters/audit/jetstream/auditWriter.ts';
import { checkpointFile } from '../adapters/audit/jetstream/checkpoint.ts';
import { TmateBackend } from '../adapters/backends/tmate/tmate.ts';
import { UptermBackend, checkSocketPath } from '../adapters/backends/upterm/upterm.ts';
import { BadgeStore } from '../adapters/bus/nats/badges.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../adapters/bus/nats/embeddedServer.ts';
import { Principals } from '../adapters/bus/nats/auth/principals.ts';
import { CedarPolicyGate } from '../adapters/policy/cedar/cedarGate.ts';
import type { PolicyGate } from '../adapters/policy/types.ts';
import { TmuxTerminals } from '../adapters/terminals/tmux/tmux.ts';
import { TerminalsByKind } from '../adapters/terminals/byKind.ts';
import { ZELLIJ_INSTALL_HINT } from '../adapters/terminals/zellij/locate.ts';
import { ZellijTerminals } from '../adapters/terminals/zellij/zellij.ts';
import { subjects } from '../api/subjects.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ShareEffects } from './effects.ts';
import { serveEndpoints } from './endpoints.ts';
import { Access, eventsReadCheck } from './access.ts';
import { ensureIdentity } from './keys.ts';
import { LiveJournal } from './liveJournal.ts';
import { ProcessLedger } from './processLedger.ts';
import { recoverLeftovers } from './recovery.ts';
import { Approvals } from './approvals.ts';
import { Handoffs } from './handoffs.ts';
import { defaultRetention } from './retention.ts';
import { natsInspector } from './inspect.ts';
import { PartitionWatch } from './partitionWatch.ts';
import { tracedBackend, tracedGate, tracedTerminals } from './traced.ts';
import { Shares } from './shares.ts';
import { startRecordings } from '../recording/wire.ts';
import { ClusterNode } from './cluster/clusterNode.ts';

export const VERSION = '0.1.0';

export type RunningService = {
  natsUrl: string;
  shares: Shares;
  nc: NatsConnection;
  principals: Principals;
  /** The embedded nats-server, when no TERMSHARE_NATS_URL was given. */
  embedded?: EmbeddedNats;
  stop(): Promise<void>;
};

/** `termshare serve`: NATS (embedded unless configured), the policy gate, the supervisor and the endpoints. */
export async function startService(
  config: Config,
  log: Logger,
  opts: { gate?: PolicyGate; /** reloads a NATS server that is not embedded (tests run their own) */ reloadNats?: () => Promise<void> } = {},
): Promise<RunningService> {
  // A state dir so deep that upterm's admin socket path cannot be made: refused before anything starts.
  const socketPath = checkSocketPath(join(config.stateDir, 'workers'));
  if (!socketPath.ok) throw new Error(socketPath.error.message);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  // The audit key first: without it, nothing is started.
  const auditKey = await ensureAuditKey(config.stateDir);
  if (!auditKey.ok) throw new Error(`${auditKey.error}; move it away to have a new audit key made`);
  if (auditKey.value.created) log.info({ keyId: auditKey.value.keyId, publicKey: auditKeyFiles(config.stateDir).publicKey }, 'audit key made');
  if (auditKey.value.warning) log.error({ keyId: auditKey.value.keyId }, auditKey.value.warning);
  const cedar = opts.gate ? undefined : new CedarPolicyGate(config.policyFile, config.entitiesFile, log.child({ actor: 'policy' }));
  // At debug, each decision and backend or terminal call made for a request is a log line (traced.ts).
  const gate = tracedGate(opts.gate ?? cedar!, log.child({ actor: 'policy' }));
  // The service's own credentials and, on first run, the local operator's; the accounts file from
  // them, with the broadcasts open to the principals the policy permits `events.read`.
  const principals = new Principals(config.stateDir, config.prefix, eventsReadCheck(gate));
  const { service: serviceCreds } = await principals.ensure(config.operator);
  let embedded: EmbeddedNats | undefined;
  let natsUrl = config.natsUrl;
  if (!natsUrl) {
    embedded = await startEmbeddedNats({ bin: config.natsServerBin, dataDir: join(config.stateDir, 'nats'), authConfig: principals.paths.authConfig });
    natsUrl = embedded.url;
    log.info({ nats: natsUrl, pid: embedded.pid }, 'embedded nats-server started');
  }
  const nc = await connect({
    servers: natsUrl,
    name: 'termshare-serve',
    authenticator: nkeyAuthenticator(serviceCreds.seed),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  }).catch((e: Error) => {
    void embedded?.stop();
    throw new Error(`cannot connect to NATS at ${natsUrl} with the service's credentials (${principals.paths.service}): ${e.message}${config.natsUrl ? `; include ${principals.paths.authConfig} in that server's configuration and reload it (see the README)` : ''}`);
  });
  const subs = subjects(config.prefix);
  const audit = new AuditWriter(
    nc,
    subs,
    { spoolFile: join(config.stateDir, 'audit.spool.jsonl'), checkpointFile: checkpointFile(config.stateDir), signer: auditKey.value, node: config.node, replicas: config.replicas },
    log.child({ actor: 'audit' }),
  );
  await audit.init();
  const badges = await BadgeStore.open(nc, { node: config.node, replicas: config.replicas });
  const effects = new ShareEffects(nc, subs, audit, badges, log.child({ actor: 'effects' }));
  const recordings = await startRecordings(nc, config, effects, log.child({ actor: 'recording' }));

  // Backend processes are recorded so that a service killed outright has them reaped at the next start.
  const ledger = new ProcessLedger(join(config.stateDir, 'processes.json'), log.child({ actor: 'ledger' }));
  await ledger.reapLeftovers();
  const journal = new LiveJournal(join(config.stateDir, 'live.json'), log.child({ actor: 'journal' }));
  const leftovers = await journal.takeLeftovers();

  const terminals = tracedTerminals(
    new TerminalsByKind(
      { tmux: new TmuxTerminals(config.tmuxSocket), ...(config.zellijBin ? { zellij: new ZellijTerminals({ bin: config.zellijBin }) } : {}) },
      { zellij: `zellij is not installed here (${ZELLIJ_INSTALL_HINT}, or set TERMSHARE_ZELLIJ to its path)` },
    ),
    log.child({ actor: 'terminals' }),
    'terminals',
  );
  const identityFile = await ensureIdentity(join(config.stateDir, 'keys', 'id_ed25519'));
  const upterm = tracedBackend(new UptermBackend({
    bin: config.upterm.bin,
    server: config.upterm.server,
    hostKey: { knownHosts: config.upterm.knownHosts, fingerprint: config.upterm.fingerprint },
    identityFile,
    workDir: join(config.stateDir, 'workers'),
    guestAttach: (spec) => terminals.attachCommand(spec.terminal, { shareId: spec.shareId, access: spec.access, role: 'guest' }).argv,
  }), log.child({ actor: 'backend' }));
  const tmate = tracedBackend(new TmateBackend({
    bin: config.tmate.bin,
    server: config.tmate.server,
    fingerprint: config.tmate.fingerprint,
    workDir: join(config.stateDir, 'tmate-workers'),
    // tmate's guests are on the relay; locally this is the share's one hosted client.
    guestAttach: (spec) => terminals.attachCommand(spec.terminal, { shareId: spec.shareId, access: spec.access, role: 'host', confined: true }).argv,
  }), log.child({ actor: 'backend' }));
  // A policy change may change who reads the broadcasts: the accounts are written again, and the server reloads them.
  const refreshAccounts = async () => {
    if (!(await principals.render())) return;
    if (embedded) await embedded.reload();
    else if (opts.reloadNats) await opts.reloadNats();
    else log.warn({ accounts: principals.paths.authConfig }, 'the policy changed who may read events: run `nats-server --signal reload` on your NATS server');
  };
  // A reloaded policy file (or one refused, the previous policies kept) is told on the bus.
  if (cedar) {
    cedar.onReload = (result) => {
      nc.publish(subs.policyEvent(result.ok ? 'reloaded' : 'rejected'), JSON.stringify({ type: result.ok ? 'reloaded' : 'rejected', at: new Date().toISOString(), file: config.policyFile, ...result }));
      if (result.ok) void refreshAccounts().catch((e: Error) => log.error({ err: e.message }, 'accounts not refreshed after a policy change'));
    };
  }
  const shares = new Shares({
    config,
    terminals,
    backends: { upterm, tmate },
    gate,
    effects,
    log,
    onProcess: (shareId, pid, alive) => void ledger.note(shareId, pid, alive),
    control: terminals,
    journal,
    ...(config.inspect ? { inspect: natsInspector(nc, config.prefix) } : {}),
  });

  // A closed terminal ends its shares; polled only while some share is live on it. The name now
  // reaching another session (renamed, and a new one made under the old name) counts as closed.
  const watcher = setInterval(() => {
    for (const [t, id] of new Map([...shares.liveTerminals(), ...handoffs.liveTerminals()])) {
      void terminals.resolve(t).then((r) => (!r.ok || r.value.id !== id) && shares.terminalClosed(t)).catch((e) => log.warn({ terminal: t, err: String(e) }, 'terminal check failed'));
    }
    void handoffs.guardLeases().catch((e) => log.warn({ err: String(e) }, 'lease guard failed'));
    // Ended records go once their retention window is over, even when nothing else ends.
    shares.prune();
    handoffs.prune();
  }, 1000);

  const handoffs = new Handoffs(shares, terminals, (t) => terminals.resolve(t), effects, log.child({ actor: 'handoffs' }), defaultRetention(config.endedRetentionMs), journal);
  handoffs.onInput = (id, input) => recordings?.agentInput(id, input);
  const approvals = new Approvals(function* () {
    yield* shares.approvalSources();
    yield* handoffs.approvalSources();
  }, gate, effects);
  // NATS unreachable past the partition timeout: every share and handoff ends (fail safe).
  const partitionWatch = new PartitionWatch({
    nc,
    subjects: subs,
    audit,
    timeoutMs: config.partitionTimeoutMs,
    endEverything: () => ({ shares: shares.revokeAll('partition'), handoffs: handoffs.endAll() }),
    log: log.child({ actor: 'partition' }),
  });
  partitionWatch.start();
  // One node of a cluster (alone, it routes nothing): it owns what its multiplexer holds.
  const cluster = new ClusterNode({
    nc,
    subs,
    node: config.node,
    replicas: config.replicas,
    timeoutMs: config.nodeTimeoutMs,
    journal,
    effects,
    badges,
    owns: async (q) =>
      'shareId' in q ? shares.records.has(q.shareId)
      : 'handoffId' in q ? handoffs.records.has(q.handoffId)
      : 'approvalId' in q ? approvals.list().some((a) => a.id === q.approvalId)
      : (await terminals.resolve(q.terminal)).ok,
    log: log.child({ actor: 'cluster' }),
  });
  const reported = await cluster.open();
  await recoverLeftovers(leftovers, { effects, control: terminals, badges, journal, reported, log: log.child({ actor: 'recovery' }) });
  cluster.start();
  const svc: Service = await serveEndpoints(
    nc,
    config.prefix,
    { shares, approvals, handoffs, access: new Access(gate), effects, badges, nc, principals, log: log.child({ actor: 'verbs' }), ...(recordings ? { recordings } : {}) },
    log.child({ actor: 'endpoints' }),
    VERSION,
    cluster.routing(),
  );
  await writeFile(join(config.stateDir, 'nats.url'), natsUrl + '\n');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(watcher);
      partitionWatch.stop();
      cedar?.close();
      await shares.shutdown();
      await recordings?.settle();
      await effects.settleBadges();
      await cluster.stop();
      await audit.drain();
      await svc.stop().catch(() => undefined);
      await nc.drain().catch(() => undefined);
      if (embedded) {
        await rm(join(config.stateDir, 'nats.url'), { force: true });
        await embedded.stop();
      }
    })());
  return { natsUrl, shares, nc, principals, ...(embedded ? { embedded } : {}), stop };
}
