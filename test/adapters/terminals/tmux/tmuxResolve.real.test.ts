import { afterAll, describe } from 'vitest';
import { TmuxTerminals } from '../../../../src/adapters/terminals/tmux/tmux.ts';
import { missingTools } from '../../../support/tools.ts';
import { terminalContract } from '../contract.ts';

const missing = missingTools('tmux');

describe.skipIf(missing.length > 0)('real tmux', () => {
  const tmux = new TmuxTerminals(`termshare-resolve-${process.pid}`);
  afterAll(async () => {
    await tmux.run(['kill-server']);
  });

  terminalContract('tmux', {
    adapter: tmux,
    create: async (session) => {
      const r = await tmux.create(session);
      if (r.exitCode !== 0 && !/duplicate session/.test(r.stderr)) throw new Error(`tmux new-session ${session}: ${r.stderr}`);
    },
    rename: async (from, to) => {
      const r = await tmux.run(['rename-session', '-t', `=${from}`, to]);
      if (r.exitCode !== 0) throw new Error(`tmux rename-session: ${r.stderr}`);
    },
    end: async (session) => void (await tmux.kill(session)),
  });
});
