// Writes docs/errors.md from packages/errors/src/codes.ts (`npm run docs:errors`); a test keeps them in step.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES } from '@cms-router/errors';

const lines = [
  '# Error codes',
  '',
  'Every error cms-router raises, and every rejection it publishes, carries one of these codes. Consumers decide from',
  '**retryable** alone: retryable errors pause the partition and retry with backoff (the input is fine, the world is',
  'not); non-retryable ones dead-letter the record (undecodable input) or publish a rejection on `cms.rejections.v1`',
  '(a well-formed event that cannot be applied), and the partition keeps flowing. Messages never contain personal data.',
  '',
  'Generated from `packages/errors/src/codes.ts` by `npm run docs:errors`; `packages/errors/src/docs.test.ts` fails when they differ.',
  '',
  '| code | retryable | meaning | how to fix |',
  '| --- | --- | --- | --- |',
  ...Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.retryable ? 'yes' : 'no'} | ${e.meaning} | ${e.fix} |`),
  '',
  '## Dead-letter headers',
  '',
  'A dead-lettered record keeps its original key, value and headers, and gains:',
  '',
  '| header | value |',
  '| --- | --- |',
  '| `cms-dlq-source-topic` | topic it was read from |',
  '| `cms-dlq-source-partition` | partition |',
  '| `cms-dlq-source-offset` | offset |',
  '| `cms-dlq-error-code` | one of the codes above |',
  '| `cms-dlq-error-message` | what was wrong (at most 500 characters, no personal data) |',
  '| `cms-dlq-service` | service that dead-lettered it |',
  '| `cms-dlq-failed-at` | ISO-8601 time |',
  '',
];
writeFileSync(resolve(import.meta.dirname, '..', 'docs', 'errors.md'), lines.join('\n'));
