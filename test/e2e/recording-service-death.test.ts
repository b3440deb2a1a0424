import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { fetchCast, listRecordings } from '../../src/cli/recordingClient.ts';
import { outputText, parseCastV3 } from '../../src/recording/asciicast.ts';
import { TEST_POLICY } from '../support/harness.ts';
import { operatorClient } from '../support/auth.ts';
import { serveWorld, spawnServe, type ServeWorld } from '../support/serveProcess.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const POLICY = `${TEST_POLICY}
permit (principal in Group::"operators", action == Action::"recording.read", resource);
`;

describe.skipIf(missing.length > 0)('a service killed mid-recording', () => {
  let w: ServeWorld;
  beforeAll(async () => {
    w = await serveWorld('recdeath', ['work'], { policy: POLICY });
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('leaves what was recorded so far readable after it starts again', async () => {
    const first = await spawnServe(w.env);
    const client = await operatorClient(w.env.TERMSHARE_STATE_DIR!, first.ready.split('nats=')[1]!);
    const started = await client.request<{ share: Share }>('share.start', { terminal: 'tmux:work', backend: 'upterm', record: true });
    if (!started.ok) throw new Error(started.message);
    await execa('tmux', ['-L', w.socket, 'send-keys', '-t', '=work:', 'echo before-the-kill-$((2+2))', 'Enter']);
    // Stored as it goes: the line is readable from the store while the share is still live.
    const id = await waitFor('the recording to be listed', async () => (await listRecordings(client, { shareId: started.value.share.id }))[0]?.id);
    await waitFor('the typed line to be stored', async () => outputText(parseCastV3((await fetchCast(client, id)).text)).includes('before-the-kill-4'), 15_000);
    await client.close();

    first.serve.kill('SIGKILL');
    await first.serve;

    const second = await spawnServe(w.env);
    const again = await operatorClient(w.env.TERMSHARE_STATE_DIR!, second.ready.split('nats=')[1]!);
    const [listed] = await listRecordings(again, { shareId: started.value.share.id });
    // No end was written (the service died), but what was stored is all there, as a valid cast.
    expect(listed).toMatchObject({ id, shareId: started.value.share.id });
    expect(listed!.end).toBeUndefined();
    const cast = parseCastV3((await fetchCast(again, id)).text);
    expect(cast.header.termshare).toMatchObject({ shareId: started.value.share.id, correlationId: started.value.share.correlationId });
    expect(outputText(cast)).toContain('before-the-kill-4');
    await again.close();
    second.serve.kill('SIGTERM');
    expect((await second.serve).exitCode).toBe(0);
    // Two `serve` starts (tsx, embedded nats-server) on a loaded 2-core machine: a minute each at worst.
  }, 300_000);
});
