import { defineConfig } from 'vitest/config';

/** The benchmark harness's own unit tests: `npx vitest run --config bench/vitest.config.ts`. */
export default defineConfig({
  test: {
    include: ['bench/**/*.test.ts'],
    environment: 'node',
  },
});
