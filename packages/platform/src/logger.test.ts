import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLogger, VERSION } from './logger.ts';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('redacts personal fields wherever they appear one level deep', () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'test', level: 'info', destination: stream });
    log.info({ caseGroupId: 'CG-1', party: { name: 'Jane Doe', nino: 'QQ123456C', ukPostcode: 'CF10 1AA', knownAs: 'J' }, reason: 'THREAT_OF_SUICIDE' }, 'hello');
    const out = lines.join('');
    expect(out).toContain('CG-1');
    for (const secret of ['Jane Doe', 'QQ123456C', 'CF10 1AA', 'THREAT_OF_SUICIDE', '"J"']) expect(out).not.toContain(secret);
  });

  it('logs errors by code and message, without a stack at info level', () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'test', level: 'info', destination: stream });
    log.error({ err: Object.assign(new Error('boom'), { code: 'CMS_INTERNAL', retryable: false }) }, 'failed');
    const entry = JSON.parse(lines[0] ?? '{}') as { err: Record<string, unknown> };
    expect(entry.err).toEqual({ type: 'Error', message: 'boom', code: 'CMS_INTERNAL', retryable: false });
  });
});

describe('log lines carry who wrote them', () => {
  it('service, pid, host and the repository version; a shutdown trigger is not redacted', () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'test', level: 'info', destination: stream });
    log.info({ trigger: 'SIGTERM' }, 'shutting down');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ service: 'test', pid: process.pid, trigger: 'SIGTERM' });
    expect(typeof line['hostname']).toBe('string');
    const root = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(line['version']).toBe(root.version);
    expect(VERSION).toBe(root.version);
  });
});
