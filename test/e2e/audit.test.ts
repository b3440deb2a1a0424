import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { execa, type ResultPromise } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditKeyFiles, ensureAuditKey, loadAuditPublicKey, type AuditPublicKey } from '../../src/adapters/audit/jetstream/auditKey.ts';
import { checkChain, parseJsonl, readAudit } from '../../src/adapters/audit/jetstream/auditReader.ts';
import { checkpointFile, readCheckpoint } from '../../src/adapters/audit/jetstream/checkpoint.ts';
import { GENESIS, chainRecord } from '../../src/adapters/audit/jetstream/hashChain.ts';
import type { EmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import { authPaths } from '../../src/adapters/bus/nats/auth/principals.ts';
import { TmuxTerminals } from '../../src/adapters/terminals/tmux/tmux.ts';
import type { AuditRecord, Share } from '../../src/api/schemas.ts';
import { linkHash } from '../../src/log.ts';
import { OPERATOR, startHarness, TEST_ENTITIES, TEST_POLICY, type Harness } from '../support/harness.ts';
import { collectEvents } from '../support/observe.ts';
import { authedNats, operatorClient, serviceConnection } from '../support/auth.ts';
import { Participant } from '../support/participant.ts';
import { missingTools, toolPath } from '../support/tools.ts';
import { startUptermd, type Relay } from '../support/uptermd.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'tmate', 'ssh', 'setpriv', 'upterm', 'uptermd');
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `termshare ...` as a user runs it, against the NATS at `url`, on the machine of the service
 * whose state dir is `stateDir`; elsewhere (no `stateDir`) with the operator's credentials from
 * `credsOf` handed over (TERMSHARE_CREDS) and an empty state dir of its own.
 */
const termshare = (url: string, args: string[], stateDir?: string, credsOf?: string) =>
  execa('node', ['bin/termshare.js', ...args], {
    cwd: repo,
    env: {
      ...process.env,
      TERMSHARE_NATS_URL: url,
      TERMSHARE_STATE_DIR: stateDir ?? join(tmpdir(), 'termshare-elsewhere'),
      ...(credsOf ? { TERMSHARE_CREDS: authPaths(credsOf).operator } : {}),
    },
    reject: false,
    stdin: 'ignore',
  });

/** The service's audit public key, as it wrote it under its state dir. */
async function serviceKey(stateDir: string): Promise<AuditPublicKey> {
  const k = await loadAuditPublicKey(auditKeyFiles(stateDir).publicKey);
  if (!k.ok) throw new Error(k.error);
  return k.value;
}

/** The secret parts of a share's links: each whole link and the user part before `@` (the session token). */
const secretsOf = (link: Share['link']): string[] =>
  Object.values(link ?? {}).flatMap((l) => [l, l.split(' ').find((w) => w.includes('@'))?.split('@')[0] ?? l]);

/** Every file under `dir`, read as bytes and decoded as latin1, so a grep sees raw store blocks. */
function rawTexts(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ file: p, text: readFileSync(p).toString('latin1') });
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const actions = (recs: AuditRecord[]) => recs.map((r) => r.action);

/** Each record of one share is caused by the one before it; the first is the request itself (the `requested` event). */
function expectCausationChain(recs: AuditRecord[], requestEventId: string): void {
  expect(recs[0]).toMatchObject({ action: 'request', eventId: requestEventId });
  expect(recs[0]!.causationId).toBeUndefined();
  for (let i = 1; i < recs.length; i++) expect(recs[i]!.causationId, `causation of record ${i} (${recs[i]!.action})`).toBe(recs[i - 1]!.eventId);
}

describe.skipIf(missing.length > 0)('audit trail over real NATS (stopped and restarted), tmux, upterm, tmate and ssh', () => {
  let h: Harness;
  let nc: NatsConnection;
  const logLines: string[] = [];
  const secrets: string[] = [];
  const linkHashes: string[] = [];
  const spoolSnapshots: string[] = [];
  const remember = (link: Share['link']) => {
    secrets.push(...secretsOf(link));
    linkHashes.push(linkHash(link!.ssh));
  };
  const spoolFile = () => join(h.config.stateDir, 'audit.spool.jsonl');

  beforeAll(async () => {
    // The service's logs are kept for the grep below (debug: everything it would ever say).
    const logger = pino({ level: 'debug', base: { svc: 'termshare' } }, { write: (line: string) => void logLines.push(line) });
    h = await startHarness({ tmate: true, logger });
    nc = await serviceConnection(h.config.stateDir, h.nats.url, { maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  });
  afterAll(async () => {
    await nc?.close();
    await h?.stop();
  });
  const start = (terminal: string, extra: Record<string, unknown> = {}) =>
    h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...extra });

  it('a full share life gives the expected records in order, one correlation id, each caused by the one before', async () => {
    const terminal = await h.terminal('life');
    const events = collectEvents(h.client.nc);
    const started = await start(terminal, { ttlSeconds: 600, access: 'read-write', correlationId: 'corr-audit-life' });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    remember(share.link);
    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await waitFor('the participant to be counted', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.participants === 1;
    });
    const extended = await h.client.request<{ share: Share }>('share.extend', { shareId: share.id, ttlSeconds: 900, requester: OPERATOR });
    expect(extended.ok).toBe(true);
    const switched = await h.client.request<{ share: Share }>('share.switch', { shareId: share.id, backend: 'tmate', requester: OPERATOR });
    if (!switched.ok) throw new Error(switched.message);
    remember(switched.value.share.link);
    await waitFor('the upterm participant to be disconnected by the switch', () => !guest.connected(), 5000);
    await waitFor('the participant to be counted gone', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.participants === 0;
    });
    const revoked = await h.client.request<{ share: Share }>('share.revoke', { shareId: share.id, requester: OPERATOR, reason: 'done' });
    expect(revoked.ok && revoked.value.share.state).toBe('revoked');

    const recs = await waitFor('the revoke record', async () => {
      const r = await readAudit(nc, { shareId: share.id });
      return r.at(-1)?.action === 'revoke' ? r : undefined;
    });
    // The participant leaves when the switch detaches it: its record may come just before or after `switch`.
    console.info(`full life: ${actions(recs).join(' → ')}`);
    expect(actions(recs).filter((a) => a !== 'participant.leave')).toEqual(['request', 'start', 'participant.join', 'extend', 'switch', 'revoke']);
    expect(actions(recs).filter((a) => a === 'participant.leave')).toHaveLength(1);
    expect(actions(recs).indexOf('participant.leave')).toBeGreaterThan(actions(recs).indexOf('extend'));
    expect(recs.map((r) => r.outcome)).toContain('switched');
    expect(new Set(recs.map((r) => r.correlationId))).toEqual(new Set(['corr-audit-life']));
    const requested = await waitFor('the requested event', () => events.of(share.id).find((e) => e.type === 'requested'));
    expectCausationChain(recs, requested.eventId);
    // Every record is signed with the service's key.
    expect(checkChain(await readAudit(nc), { key: await serviceKey(h.config.stateDir) })).toMatchObject({ ok: true, fromGenesis: true });

    // The CLI: the same records as JSON, and a readable timeline.
    const json = await termshare(h.nats.url, ['audit', 'show', '--share', share.id, '--json'], h.config.stateDir);
    expect(json.exitCode, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as AuditRecord[]).map((r) => r.eventId)).toEqual(recs.map((r) => r.eventId));
    const text = await termshare(h.nats.url, ['audit', 'show', '--correlation', 'corr-audit-life'], h.config.stateDir);
    expect(text.exitCode, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toContain(`share ${share.id}`);
    expect(lines).toHaveLength(recs.length + 2);
    for (const [i, r] of recs.entries()) {
      expect(lines[i + 2]).toContain(r.at);
      expect(lines[i + 2]).toContain(r.action);
      expect(lines[i + 2]).toContain(r.eventId.slice(0, 8));
      if (r.causationId) expect(lines[i + 2]).toContain(`← ${r.causationId.slice(0, 8)}`);
      else expect(lines[i + 2]).not.toContain('←');
    }
    const verify = await termshare(h.nats.url, ['audit', 'verify'], h.config.stateDir);
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/chain intact, \d+ record\(s\), from genesis, each signed by key ed25519:[0-9a-f]{16}; /);
    // Elsewhere (no key in the default state dir, none named), verify cannot check signatures: it says so.
    const keyless = await termshare(h.nats.url, ['audit', 'verify'], join(h.dir, 'elsewhere'), h.config.stateDir);
    expect(keyless.exitCode).toBe(2);
    expect(keyless.stderr).toMatch(/no audit public key: .*audit-ed25519\.pub\.pem: no such file/);
    await guest.close();
    events.stop();
  });

  it('NATS stopped mid-share: what happens meanwhile is spooled, then lands in the stream exactly once, in order', async () => {
    const terminal = await h.terminal('outage');
    const events = collectEvents(h.client.nc);
    const started = await start(terminal, { ttlSeconds: 14, access: 'read-write', correlationId: 'corr-audit-outage' });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    remember(share.link);
    await waitFor('the start record', async () => (await readAudit(nc, { shareId: share.id })).some((r) => r.action === 'start'));
    const requested = events.of(share.id).find((e) => e.type === 'requested')!;
    events.stop();

    await h.stopNats();
    let inSpool: AuditRecord[];
    try {
      // With NATS down: a participant joins and leaves (through uptermd, which does not need NATS), the warning, the expiry.
      const guest = await Participant.join(share.link!.ssh, h.guestKey);
      const spooled = async (action: string) => parseJsonl(await readFile(spoolFile(), 'utf8').catch(() => '')).some((r) => r.shareId === share.id && r.action === action);
      await waitFor('the join to be spooled', () => spooled('participant.join'), 8000);
      // Leaving by hand (detach): a dropped ssh connection leaves upterm's guest attached, so it would not count as leaving.
      await guest.detach();
      await waitFor('the leave to be spooled', () => spooled('participant.leave'), 8000);
      await guest.close();
      await waitFor('the expiry to be spooled', () => spooled('expire'), 20_000);
      const snapshot = await readFile(spoolFile(), 'utf8');
      spoolSnapshots.push(snapshot);
      inSpool = parseJsonl(snapshot).filter((r) => r.shareId === share.id);
      expect(actions(inSpool)).toEqual(['participant.join', 'participant.leave', 'expiring', 'expire']);
    } finally {
      await h.startNats();
    }
    const up = Date.now();
    // No new action is needed: the reconnect alone sends the spool.
    await waitFor('the spool to be sent', () => !existsSync(spoolFile()), 10_000, 10);
    const flushMs = Date.now() - up;
    console.info(`audit spool of ${inSpool.length} records sent ${flushMs} ms after nats-server was back`);
    // A fresh connection to read with: a request made while a client is still reconnecting can be lost.
    await nc.close();
    nc = await serviceConnection(h.config.stateDir, h.nats.url);

    const all = await readAudit(nc);
    expect(new Set(all.map((r) => r.eventId)).size).toBe(all.length);
    const recs = all.filter((r) => r.shareId === share.id);
    expect(actions(recs)).toEqual(['request', 'start', 'participant.join', 'participant.leave', 'expiring', 'expire']);
    expect(recs.slice(2).map((r) => r.eventId)).toEqual(inSpool.map((r) => r.eventId));
    expect(new Set(recs.map((r) => r.correlationId))).toEqual(new Set(['corr-audit-outage']));
    expectCausationChain(recs, requested.eventId);
    expect(checkChain(all)).toMatchObject({ ok: true, fromGenesis: true });
    // The service answers again over the restarted server.
    const again = await operatorClient(h.config.stateDir, h.nats.url);
    const got = await again.request<{ share: Share }>('share.get', { shareId: share.id });
    expect(got.ok && got.value.share.state).toBe('expired');
    await again.close();
  });

  it('a modified, removed, re-hashed, forged, unsigned or cut-off record in an exported chain is named by `audit verify`', async () => {
    const stateDir = h.config.stateDir;
    // The checkpoint is debounced: wait until it names the newest record.
    await waitFor('the checkpoint of the newest record', async () => {
      const [cp, all] = [await readCheckpoint(checkpointFile(stateDir)), await readAudit(nc)];
      return cp.ok && cp.value?.eventId === all.at(-1)?.eventId;
    }, 5000);
    const exported = await termshare(h.nats.url, ['audit', 'export'], stateDir);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const recs = parseJsonl(exported.stdout);
    expect(recs.length).toBeGreaterThanOrEqual(8);
    const file = join(h.dir, 'chain.jsonl');
    const verify = async (records: AuditRecord[], ...more: string[]) => {
      await writeFile(file, records.map((r) => JSON.stringify(r) + '\n').join(''));
      return termshare(h.nats.url, ['audit', 'verify', '--file', file, ...more], stateDir);
    };
    const intact = await verify(recs);
    expect(intact.exitCode, intact.stderr).toBe(0);
    expect(intact.stdout).toContain(`chain intact, ${recs.length} record(s), from genesis, each signed by key ${(await serviceKey(stateDir)).keyId}; the checkpoint's record (eventId ${recs.at(-1)!.eventId}`);

    const k = 4;
    const modified = recs.map((r, i) => (i === k ? { ...r, actor: 'human:mallory' } : r));
    const m = await verify(modified);
    expect(m.exitCode).toBe(1);
    expect(m.stderr).toContain(`record ${k + 1} of ${recs.length}: eventId ${recs[k]!.eventId}`);
    expect(m.stderr).toContain('modified');

    const removed = recs.filter((_, i) => i !== k);
    const r = await verify(removed);
    expect(r.exitCode).toBe(1);
    // The record after the removed one no longer links to its predecessor.
    expect(r.stderr).toContain(`record ${k + 1} of ${recs.length - 1}: eventId ${recs[k + 1]!.eventId}`);
    expect(r.stderr).toMatch(/removed/);

    const json = await termshare(h.nats.url, ['audit', 'verify', '--file', file, '--json'], stateDir);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, line: k + 1, eventId: recs[k + 1]!.eventId, reason: 'link' });

    // Modified, then every hash after it recomputed (all one can do without the key): the signature no longer matches.
    const rehashed: AuditRecord[] = recs.slice(0, k);
    for (const [i, x] of recs.entries()) {
      if (i < k) continue;
      const content = i === k ? { ...x, actor: 'human:mallory' } : x;
      rehashed.push({ ...chainRecord(content, rehashed.at(-1)!.hash), keyId: x.keyId!, sig: x.sig! });
    }
    expect(checkChain(rehashed, { start: GENESIS }).ok).toBe(true);
    const rh = await verify(rehashed);
    expect(rh.exitCode).toBe(1);
    expect(rh.stderr).toContain(`record ${k + 1} of ${recs.length}: eventId ${recs[k]!.eventId}`);
    expect(rh.stderr).toContain('its signature does not match its hash');

    // A record appended by someone without the key, linked and hashed right, a signature copied.
    const last = recs.at(-1)!;
    const forged = { ...chainRecord({ ...last, eventId: '00000000-0000-4000-8000-000000000000', action: 'stop', outcome: 'stopped' }, last.hash), keyId: last.keyId!, sig: last.sig! };
    const fa = await verify([...recs, forged]);
    expect(fa.exitCode).toBe(1);
    expect(fa.stderr).toContain(`record ${recs.length + 1} of ${recs.length + 1}: eventId ${forged.eventId}, stop (stopped)`);
    expect(fa.stderr).toContain('its signature does not match its hash');

    // An unsigned record (a legacy one, or one added without the key) is named.
    const { keyId: _keyId, sig: _sig, ...unsigned } = recs[k]!;
    const us = await verify(recs.map((r, i) => (i === k ? unsigned : r)));
    expect(us.exitCode).toBe(1);
    expect(us.stderr).toContain(`record ${k + 1} of ${recs.length}: eventId ${recs[k]!.eventId}`);
    expect(us.stderr).toContain('carries no signature');

    // The last records cut off: every link and signature holds, the checkpoint does not.
    const cut = await verify(recs.slice(0, -2));
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toContain(`chain truncated: the checkpoint's record (eventId ${recs.at(-1)!.eventId}`);
    expect((await verify(recs.slice(0, -2), '--no-checkpoint')).exitCode).toBe(0);

    // Checked against another key (`--key`), every record is named as signed by another.
    const otherState = join(h.dir, 'other-state');
    expect((await ensureAuditKey(otherState)).ok).toBe(true);
    const ok2 = await verify(recs, '--key', auditKeyFiles(otherState).publicKey);
    expect(ok2.exitCode).toBe(1);
    expect(ok2.stderr).toMatch(/record 1 of \d+: .*it is signed by ed25519:[0-9a-f]{16}, not by ed25519:[0-9a-f]{16}/);

    // One share's stretch verifies on its own.
    const shareId = recs.find((x) => x.correlationId === 'corr-audit-life')!.shareId!;
    const stretch = await termshare(h.nats.url, ['audit', 'export', '--share', shareId], h.config.stateDir);
    const stretchRecs = parseJsonl(stretch.stdout);
    expect(stretchRecs[0]!.shareId).toBe(shareId);
    // This share was the first: its stretch starts at genesis and ends before the checkpoint's record, as a
    // whole chain cut short would. It is checked without the checkpoint, as the failure says.
    expect(stretchRecs[0]!.prevHash).toBe(GENESIS);
    const asWhole = await verify(stretchRecs);
    expect(asWhole.exitCode).toBe(1);
    expect(asWhole.stderr).toMatch(/chain truncated: .*check it with --no-checkpoint$/m);
    const st = await verify(stretchRecs, '--no-checkpoint');
    expect(st.exitCode, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`chain intact, ${stretchRecs.length} record\\(s\\), from genesis, each signed by key .*; checkpoint not checked \\(--no-checkpoint\\)`));
    // A stretch that starts later verifies with the checkpoint and says its tail is not checked.
    const later = stretchRecs.slice(1);
    const lt = await verify(later);
    expect(lt.exitCode, lt.stderr).toBe(0);
    expect(lt.stdout).toMatch(/a stretch that starts after .*the checkpoint's record is not in this stretch, so its tail is not checked/);
  });

  it('no link in clear: not in the stream (records and raw store files), the spool or the logs', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    expect(spoolSnapshots.length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(0);
    const stream = JSON.stringify(await readAudit(nc));
    const raw = rawTexts(join(h.config.stateDir, 'nats'));
    const places = [
      { where: 'stream records', text: stream },
      ...raw.map((f) => ({ where: f.file, text: f.text })),
      ...spoolSnapshots.map((s, i) => ({ where: `spool snapshot ${i}`, text: s })),
      { where: 'spool file', text: await readFile(spoolFile(), 'utf8').catch(() => '') },
      { where: 'service logs', text: logLines.join('') },
    ];
    for (const { where, text } of places) for (const s of secrets) expect(text.includes(s), `${where} holds a link secret`).toBe(false);
    // Nor the audit private key anywhere but its own file.
    const privateKey = (await readFile(auditKeyFiles(h.config.stateDir).privateKey, 'utf8')).split('\n')[1]!;
    expect(privateKey.length).toBeGreaterThan(40);
    for (const { where, text } of places) expect(text.includes(privateKey), `${where} holds the audit private key`).toBe(false);
    // The grep does see the stored records: their link hashes are there, in the raw store as well.
    for (const hsh of linkHashes) expect(stream).toContain(hsh);
    expect(raw.some((f) => f.text.includes(linkHashes[0]!))).toBe(true);
  });
});

describe.skipIf(missing.length > 0)('audit spool across a service killed with SIGKILL', () => {
  let dir: string;
  let nats: EmbeddedNats;
  let relay: Relay;
  const socket = `ts-audit-${process.pid}`;
  const services: ResultPromise[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'termshare-audit-kill-'));
    nats = (await authedNats(join(dir, 'state'))).nats;
    relay = await startUptermd(toolPath('uptermd')!);
    await writeFile(join(dir, 'policy.cedar'), TEST_POLICY);
    await writeFile(join(dir, 'entities.json'), JSON.stringify(TEST_ENTITIES));
  });
  afterAll(async () => {
    for (const s of services) if (s.exitCode === null) s.kill('SIGKILL');
    await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
    await relay?.stop();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `termshare serve` as a child process; resolves once it prints its ready line. */
  async function serve(): Promise<{ child: ResultPromise; readyMs: number }> {
    const t0 = Date.now();
    const child = execa('node', ['bin/termshare.js', 'serve'], {
      cwd: repo,
      reject: false,
      stdin: 'ignore',
      env: {
        ...process.env,
        TERMSHARE_STATE_DIR: join(dir, 'state'),
        TERMSHARE_NATS_URL: nats.url,
        TERMSHARE_POLICY: join(dir, 'policy.cedar'),
        TERMSHARE_ENTITIES: join(dir, 'entities.json'),
        TERMSHARE_UPTERM_SERVER: relay.server,
        TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
        TERMSHARE_TMUX_SOCKET: socket,
        TERMSHARE_GRACE: '2',
        TERMSHARE_LOG_LEVEL: 'debug',
      },
    });
    services.push(child);
    child.stderr!.on('data', (d: Buffer) => void logs.push(d.toString()));
    await new Promise<void>((ok, fail) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('termshare ready')) ok();
      });
      void child.then((r) => fail(new Error(`termshare serve exited with ${r.exitCode}: ${logs.join('').slice(-2000)}`)));
    });
    return { child, readyMs: Date.now() - t0 };
  }

  it('records spooled by a service killed outright all reach the stream after a restart, exactly once', async () => {
    const first = await serve();
    const tmux = new TmuxTerminals(socket);
    const made = await tmux.create('killed', { cwd: dir, command: 'env PS1="$ " bash --norc --noprofile' });
    expect(made.exitCode, made.stderr).toBe(0);
    const client = await operatorClient(join(dir, 'state'), nats.url);
    const started = await client.request<{ share: Share }>('share.start', { terminal: 'tmux:killed', backend: 'upterm', requester: OPERATOR, ttlSeconds: 4, correlationId: 'corr-audit-kill' });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    await client.close();
    // NATS goes away right after the reply: the warning and the expiry that follow can only be spooled.
    await nats.stop();
    const spool = join(dir, 'state', 'audit.spool.jsonl');
    const spooled = async () => parseJsonl(await readFile(spool, 'utf8').catch(() => '')).filter((r) => r.shareId === share.id);
    const inSpool = await waitFor('the expiry to be spooled', async () => {
      const s = await spooled();
      return s.some((r) => r.action === 'expire') ? s : undefined;
    }, 15_000);
    expect(actions(inSpool)).toEqual(expect.arrayContaining(['expiring', 'expire']));
    const spoolText = await readFile(spool, 'utf8');

    first.child.kill('SIGKILL');
    expect((await first.child).signal).toBe('SIGKILL');
    expect(existsSync(spool)).toBe(true);

    nats = (await authedNats(join(dir, 'state'), { port: nats.port })).nats;
    const second = await serve();
    console.info(`restarted service ready (spool of ${inSpool.length} records sent first) in ${second.readyMs} ms`);
    // `ready` is printed after the spool went out: nothing to wait for.
    expect(existsSync(spool)).toBe(false);
    const nc = await serviceConnection(join(dir, 'state'), nats.url);
    const all = await readAudit(nc);
    await nc.close();
    expect(new Set(all.map((r) => r.eventId)).size).toBe(all.length);
    const recs = all.filter((r) => r.shareId === share.id);
    expect(actions(recs)).toEqual(['request', 'start', 'expiring', 'expire']);
    for (const s of inSpool) expect(recs.filter((r) => r.eventId === s.eventId)).toHaveLength(1);
    expect(new Set(recs.map((r) => r.correlationId))).toEqual(new Set(['corr-audit-kill']));
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.causationId).toBe(recs[i - 1]!.eventId);
    expect(checkChain(all, { key: await serviceKey(join(dir, 'state')) })).toMatchObject({ ok: true, fromGenesis: true });
    const verify = await termshare(nats.url, ['audit', 'verify'], join(dir, 'state'));
    expect(verify.exitCode, verify.stderr).toBe(0);
    // The checkpoint the killed service left is one the restarted service (and verify) found in the stream.
    expect(verify.stdout).toContain("the checkpoint's record");

    // No link in clear in this service's spool, logs or stream store either.
    const texts = [spoolText, logs.join(''), JSON.stringify(all), ...rawTexts(join(dir, 'state', 'nats')).map((f) => f.text)];
    for (const s of secretsOf(share.link)) for (const t of texts) expect(t.includes(s)).toBe(false);
    expect(JSON.stringify(all)).toContain(linkHash(share.link!.ssh));
  });
});
