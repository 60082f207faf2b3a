import { describe, expect, it } from 'vitest';
import { CmsError, ERROR_CODES, isCmsError } from './index.ts';

describe('CmsError', () => {
  it('takes retryable from the code table, not from the caller', () => {
    expect(new CmsError('CMS_REDIS_UNAVAILABLE', 'down').retryable).toBe(true);
    expect(new CmsError('CMS_DECODE_FAILED', 'bad').retryable).toBe(false);
  });

  it('is recognised by code even when it is a plain object from another realm', () => {
    const foreign = { code: 'CMS_KAFKA_UNAVAILABLE', retryable: true, message: 'x' };
    expect(isCmsError(foreign)).toBe(true);
    expect(isCmsError(foreign, 'CMS_KAFKA_UNAVAILABLE')).toBe(true);
    expect(isCmsError(foreign, 'CMS_DECODE_FAILED')).toBe(false);
    expect(isCmsError({ code: 'ENOTFOUND', retryable: true })).toBe(false);
    expect(isCmsError(new Error('plain'))).toBe(false);
  });

  it('freezes its context and keeps the cause', () => {
    const cause = new Error('socket closed');
    const err = new CmsError('CMS_SMTP_UNAVAILABLE', 'smtp', { cause, context: { attempt: 2 } });
    expect(err.cause).toBe(cause);
    expect(Object.isFrozen(err.context)).toBe(true);
    expect(err.toJSON()).toEqual({ code: 'CMS_SMTP_UNAVAILABLE', message: 'smtp', retryable: true, context: { attempt: 2 } });
  });

  it('uses the CMS_ prefix for every code so logs and headers are greppable', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^CMS_[A-Z_]+$/);
  });
});
