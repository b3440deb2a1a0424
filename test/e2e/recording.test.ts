import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handoff, Share } from '../../src/api/schemas.ts';
import { fetchCast, listRecordings } from '../../src/cli/recordingClient.ts';
import { outputText, parseCastV3, toV2 } from '../../src/recording/asciicast.ts';
import { MARKER, MarkerLabels } from '../../src/recording/markers.ts';
import { startHarness, TEST_POLICY, type Harness } from '../support/harness.ts';
import { auditRecords } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd', 'asciinema');

/** The test policy, plus reading recordings, and leases to the agent that the policy records. */
const POLICY = `${TEST_POLICY}
@id("operators-read-recordings")
permit (principal in Group::"operators", action == Action::"recording.read", resource);

@id("agent-leases-recorded")
@record("required")
permit (principal in Group::"operators", action == Action::"handoff.request", resource);

@id("lease-verbs")
permit (principal, action in [Action::"handoff.get", Action::"handoff.release", Action::"terminal.context", Action::"terminal.input", Action::"terminal.screen"], resource);
`;
const AGENT = { kind: 'ai' as const, id: 'claude' };
const SECRET = 'ghp_Zq8rT4mN2vB6xC1kL9pW3sD7fG5hJ0aY2eU4';

describe.skipIf(missing.length > 0)('session recording, real tmux and service', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The `recording` audit record of a share or handoff, once the recording is stored. */
  const savedRecord = (id: string) =>
    waitFor('the recording audit record', async () => (await auditRecords(h.svc.nc)).find((r) => (r.shareId === id || r.handoffId === id) && r.action === 'recording'), 15_000);
  const recordingOf = async (filter: { shareId?: string; handoffId?: string }) => {
    const [rec] = await listRecordings(h.client, filter);
    if (!rec) throw new Error('no recording listed');
    return rec;
  };

  it('a share asked to be recorded is an asciicast v3 file with what was typed, a marker per step as in the audit trail, and a hash the audit record names', async () => {
    await h.terminal('rec');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal: 'tmux:rec', backend: 'upterm', record: true });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    await h.typeInto('rec', 'echo recorded-$((6*7))-line');
    await waitFor('the command to run', async () => (await h.pane('rec')).includes('recorded-42-line'));
    expect((await h.client.request('share.extend', { shareId: share.id, ttlSeconds: 600 })).ok).toBe(true);
    expect((await h.client.request('share.revoke', { shareId: share.id, reason: 'done' })).ok).toBe(true);
    const saved = await savedRecord(share.id);

    const listed = await recordingOf({ shareId: share.id });
    expect(listed).toMatchObject({ terminal: 'tmux:rec', shareId: share.id, correlationId: share.correlationId, end: { outcome: 'complete' } });
    const { text } = await fetchCast(h.client, listed.id);
    const cast = parseCastV3(text);
    expect(cast.header.termshare).toMatchObject({ shareId: share.id, correlationId: share.correlationId, terminal: 'tmux:rec' });
    expect(cast.header.term.cols).toBeGreaterThan(0);
    expect(outputText(cast)).toContain('recorded-42-line');
    // The audit record points at the file by its hash, over the bytes exported.
    expect(saved).toMatchObject({ outcome: 'saved', correlationId: share.correlationId, data: { recordingId: listed.id, sha256: `sha256:${createHash('sha256').update(text).digest('hex')}` } });

    const trail = (await auditRecords(h.svc.nc)).filter((r) => r.shareId === share.id && r.action in MarkerLabels);
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => MARKER.exec(e[2])!.slice(2));
    expect(markers).toEqual(trail.map((r) => [r.action, r.eventId]));
    expect(markers.map((m) => m[0])).toEqual(['start', 'extend', 'revoke']);
  });

  it('the v2 export is read by the real asciinema and shows the same text', async () => {
    await h.terminal('rec2');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal: 'tmux:rec2', backend: 'upterm', record: true });
    if (!started.ok) throw new Error(started.message);
    await h.typeInto('rec2', 'echo second-$((50+5))-take');
    await waitFor('the command to run', async () => (await h.pane('rec2')).includes('second-55-take'));
    expect((await h.client.request('share.stop', { shareId: started.value.share.id })).ok).toBe(true);
    await savedRecord(started.value.share.id);
    const { text } = await fetchCast(h.client, (await recordingOf({ shareId: started.value.share.id })).id);
    const file = join(h.dir, 'rec2.cast');
    await writeFile(file, toV2(parseCastV3(text)));
    // asciinema 2.2's cat reads keys from /dev/tty: it runs inside a pty of its own (util-linux script).
    const shown = await execa('script', ['-qec', `asciinema cat '${file}'`, '/dev/null'], { reject: false, stdin: 'ignore' });
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain('second-55-take');
  });

  it('a secret echoed in a recorded terminal is masked in the stored output', async () => {
    await h.terminal('sec');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal: 'tmux:sec', backend: 'upterm', record: true });
    if (!started.ok) throw new Error(started.message);
    await h.typeInto('sec', `echo token=${SECRET} done-echo`);
    await waitFor('the echo', async () => (await h.pane('sec')).includes('done-echo'));
    expect((await h.client.request('share.stop', { shareId: started.value.share.id })).ok).toBe(true);
    await savedRecord(started.value.share.id);
    const { text } = await fetchCast(h.client, (await recordingOf({ shareId: started.value.share.id })).id);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(4, 20));
    expect(outputText(parseCastV3(text))).toContain('[redacted]');
    expect(outputText(parseCastV3(text))).toContain('done-echo');
  });

  it('an AI lease the policy records holds the agent\'s input as input events, between "lease taken" and "input returned"', async () => {
    await h.terminal('lease');
    const agent = await h.as('ai:claude');
    const given = await h.client.request<{ handoff: Handoff }>('handoff.request', { terminal: 'tmux:lease', to: AGENT, reason: 'run it' });
    if (!given.ok) throw new Error(given.message);
    const handoff = given.value.handoff;
    expect(handoff.state).toBe('held');
    const sent = await agent.request('terminal.input', { terminal: 'tmux:lease', handoffId: handoff.id, text: 'echo agent-$((3*3))-typed', keys: ['Enter'] });
    expect(sent.ok).toBe(true);
    await waitFor('the agent\'s command to run', async () => (await h.pane('lease')).includes('agent-9-typed'));
    expect((await agent.request('handoff.release', { handoffId: handoff.id })).ok).toBe(true);
    await savedRecord(handoff.id);

    const listed = await recordingOf({ handoffId: handoff.id });
    expect(listed.input).toBe(true);
    const cast = parseCastV3((await fetchCast(h.client, listed.id)).text);
    expect(cast.header.termshare).toMatchObject({ handoffId: handoff.id, correlationId: handoff.correlationId });
    const inputs = cast.events.filter((e) => e[1] === 'i').map((e) => e[2]);
    expect(inputs).toEqual(['echo agent-$((3*3))-typed\r']);
    expect(outputText(cast)).toContain('agent-9-typed');
    const labels = cast.events.filter((e) => e[1] === 'm').map((e) => MARKER.exec(e[2])![1]);
    expect(labels).toEqual(['lease taken', 'input returned']);
    // The input event lies between the two markers.
    const kinds = cast.events.filter((e) => e[1] !== 'o' && e[1] !== 'r').map((e) => e[1]);
    expect(kinds).toEqual(['m', 'i', 'm']);
  });

  it('a share nobody asked to record, under a policy that does not require it, is not recorded', async () => {
    await h.terminal('plain');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal: 'tmux:plain', backend: 'upterm' });
    if (!started.ok) throw new Error(started.message);
    expect((await h.client.request('share.stop', { shareId: started.value.share.id })).ok).toBe(true);
    const trail = (await auditRecords(h.svc.nc)).filter((r) => r.shareId === started.value.share.id);
    expect(trail.map((r) => r.action)).not.toContain('recording');
    expect(await listRecordings(h.client, { shareId: started.value.share.id })).toEqual([]);
  });

  it('reading a recording without recording.read is refused and audited', async () => {
    const listed = await listRecordings(h.client, {});
    const agent = await h.as('ai:claude');
    const r = await agent.request('recording.read', { recordingId: listed[0]!.id });
    expect(r).toMatchObject({ ok: false, code: 'policy_denied' });
    const refusal = (await auditRecords(h.svc.nc)).filter((x) => x.action === 'request.refused' && x.actor === 'ai:claude').at(-1);
    expect(refusal?.data).toMatchObject({ verb: 'recording.read' });
  });
});
