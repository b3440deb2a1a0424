import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**', 'test/**/*.real.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/**/*.real.test.ts'],
          testTimeout: 90_000,
          hookTimeout: 60_000,
          // Real processes (nats-server, tmux, upterm) share one machine of two cores: run files one at a time.
          fileParallelism: false,
        },
      },
      // Generous: the biggest models play tens of thousands of paths, which on a loaded 2-core machine takes minutes.
      { test: { name: 'model', include: ['model-tests/**/*.test.ts'], testTimeout: 300_000 } },
    ],
  },
});
