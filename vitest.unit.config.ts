import { basename, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const results = resolve(import.meta.dirname, '.test-results');

/** Unit tests: pure logic, no I/O. Files named *.test.ts beside the code they test. */
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.int.test.ts'],
    environment: 'node',
    pool: 'threads',
    reporters: ['default', 'json'],
    outputFile: { json: resolve(results, `unit-${basename(process.cwd())}.json`) },
  },
});
