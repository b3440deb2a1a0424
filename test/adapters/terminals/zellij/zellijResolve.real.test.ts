import { afterAll, beforeAll, describe } from 'vitest';
import { missingTools } from '../../../support/tools.ts';
import { zellijWorld, type ZellijWorld } from '../../../support/zellij.ts';
import { terminalContract } from '../contract.ts';

const missing = missingTools('zellij');

describe.skipIf(missing.length > 0)('real zellij', () => {
  let world: ZellijWorld;
  beforeAll(async () => {
    world = await zellijWorld();
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  terminalContract('zellij', {
    get adapter() {
      return world.terminals;
    },
    kind: 'zellij',
    idPattern: /^#\d+$/,
    create: async (session) => {
      if (await world.terminals.exists(`zellij:${session}`)) return;
      await world.create(session);
    },
    rename: async (from, to) => {
      const r = await world.terminals.run(['--session', from, 'action', 'rename-session', to]);
      if (r.exitCode !== 0) throw new Error(`zellij rename-session: ${r.stderr}`);
    },
    end: async (session) => {
      const r = await world.terminals.kill(session);
      if (r.exitCode !== 0) throw new Error(`zellij kill-session: ${r.stderr}`);
    },
  });
});
