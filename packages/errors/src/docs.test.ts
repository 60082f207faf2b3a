import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './codes.ts';

/** docs/errors.md is the people's copy of ERROR_CODES; this keeps the two in step. */
describe('docs/errors.md', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(CMS_[A-Z_]+)` \| (yes|no) \| (.+?) \| (.+?) \|$/gm)].map((m) => ({ code: m[1], retryable: m[2] === 'yes', meaning: m[3], fix: m[4] }));

  it('lists every code once, in the order of the code table', () => {
    expect(rows.map((r) => r.code)).toEqual(Object.keys(ERROR_CODES));
  });

  it.each(Object.entries(ERROR_CODES))('%s: same retryable flag, meaning and fix', (code, entry) => {
    const row = rows.find((r) => r.code === code);
    expect(row).toEqual({ code, retryable: entry.retryable, meaning: entry.meaning, fix: entry.fix });
  });
});
