// @ts-check
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '.stack/**', '**/*.config.ts', 'eslint.config.js'] },
  ...tseslint.configs.strictTypeChecked,
  // Generated code carries a blanket disable so a rule change never fails on it; an unused one is not news.
  { files: ['**/generated/**'], linterOptions: { reportUnusedDisableDirectives: 'off' } },
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      // An un-awaited send() is a lost message.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      'import-x/no-self-import': 'error',
      // Nobody reaches into another package's files.
      'no-restricted-imports': ['error', { patterns: [{ group: ['@cms-router/*/src/*', '**/packages/*/src/*', '**/services/*/src/*'], message: 'Import a package by its name, not its files.' }] }],
    },
  },
  {
    // A service never imports another service (the test package may read their config schemas).
    files: ['services/**', 'packages/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@cms-router/router', '@cms-router/router/*', '@cms-router/sr-events', '@cms-router/sr-events/*', '@cms-router/notifier', '@cms-router/notifier/*'], message: 'A service never imports another service; share code through packages/.' },
            { group: ['@cms-router/*/src/*', '**/packages/*/src/*', '**/services/*/src/*'], message: 'Import a package by its name, not its files.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/rules/**', 'packages/errors/**', 'packages/events/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['kafkajs', 'ioredis', 'pino', 'nodemailer'], patterns: [{ group: ['@cms-router/platform'], message: 'Pure packages do no I/O.' }] },
      ],
    },
  },
);
