import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TmuxTerminals } from '../../src/adapters/terminals/tmux/tmux.ts';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { REVOKE_BOUND_MS } from '../support/bounds.ts';
import { uptermProcesses } from '../support/observe.ts';
import { guestKey, Participant } from '../support/participant.ts';
import { serveWorld, type ServeWorld } from '../support/serveProcess.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const bin = join(import.meta.dirname, '../../bin/termshare.js');

/** The service SIGKILLed under a live share: its reaper, not the service, ends upterm the orderly way. */
describe.skipIf(missing.length > 0)('the service killed outright', () => {
  let w: ServeWorld;
  let dir: string;
  let env: Record<string, string>;
  let socket: string;
  beforeAll(async () => {
    w = await serveWorld('death', ['work']);
    ({ dir, env, socket } = w);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('every participant is disconnected within the bound and no upterm is left', async () => {
    const serve: ResultPromise = execa('node', [bin, 'serve'], { env, reject: false, buffer: false, stdout: 'pipe', stderr: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: serve.stdout! }).on('line', (l) => l.startsWith('termshare ready') && resolve());
      void serve.then((r) => reject(new Error(`serve exited early: ${r.exitCode}`)));
    });
    const shared = await execa('node', [bin, 'share', 'tmux:work', '--read-write', '--json'], { env, reject: false });
    expect(shared.exitCode).toBe(0);
    const share = (JSON.parse(shared.stdout) as { share: Share }).share;
    const key = await guestKey(dir);
    const guests = [await Participant.join(share.link!.ssh, key), await Participant.join(share.link!.ssh, key)];
    // Each participant is one guest client of the share (its view's size anchor is not counted).
    const tmux = new TmuxTerminals(socket);
    const guestsAttached = async () => (await tmux.clients('tmux:work', share.id)).filter((c) => c.role === 'guest').length;
    await waitFor('both participants to be attached', async () => (await guestsAttached()) === 2);
    expect(uptermProcesses(env.TERMSHARE_STATE_DIR!, share.id)).toHaveLength(1);

    serve.kill('SIGKILL');
    await serve;
    await waitFor('every participant to be disconnected', () => guests.every((g) => !g.connected()), REVOKE_BOUND_MS);
    await waitFor('no upterm left', () => uptermProcesses(env.TERMSHARE_STATE_DIR!).length === 0, REVOKE_BOUND_MS);
    // The shell the terminal runs is untouched.
    expect((await execa('tmux', ['-L', socket, 'has-session', '-t', '=work'], { reject: false })).exitCode).toBe(0);
    await Promise.all(guests.map((g) => g.close()));
  });
});
