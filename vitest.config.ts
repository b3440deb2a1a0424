import { defineConfig } from 'vitest/config';

const ZELLIJ_REAL_TESTS = ['test/adapters/terminals/zellij/*.real.test.ts', 'test/e2e/zellij-*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**', 'test/chaos/**', 'test/**/*.real.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/**/*.real.test.ts'],
          // NOT YET RUN (issue 13 stays open): the real-zellij tests were written while zellij 0.45.1 was
          // still building here and have never run against it. `npm run test:zellij` runs them.
          exclude: process.env.TERMSHARE_ZELLIJ_TESTS === '1' ? [] : ZELLIJ_REAL_TESTS,
          testTimeout: 90_000,
          hookTimeout: 60_000,
          // Real processes (nats-server, tmux, upterm) share one machine of two cores: run files one at a time.
          fileParallelism: false,
        },
      },
      // Seeded random faults over real shares: CHAOS_STEPS of them (20 by default, as CI runs; `npm run test:chaos` runs more).
      { test: { name: 'chaos', include: ['test/chaos/**/*.test.ts'], fileParallelism: false } },
      // Generous: the biggest models play tens of thousands of paths, which on a loaded 2-core machine takes minutes.
      { test: { name: 'model', include: ['model-tests/**/*.test.ts'], testTimeout: 900_000 } },
    ],
  },
});
