import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Integration tests against the real stack. globalSetup resolves the stack once (env -> testcontainers ->
 * local stack) and hands the endpoints to every test file through `provide`/`inject`.
 */
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['integration/**/*.int.test.ts'],
    globalSetup: ['./harness/global-setup.ts'],
    environment: 'node',
    // One broker, two cores: files run one at a time so timings stay sane, tests inside a file in order.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
    teardownTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: resolve(import.meta.dirname, '../.test-results/integration.json') },
  },
});
