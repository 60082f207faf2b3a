import { defineConfig } from 'vitest/config';

/** Unit tests: pure logic, no I/O. Files named *.test.ts beside the code they test. */
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.int.test.ts'],
    environment: 'node',
    pool: 'threads',
  },
});
