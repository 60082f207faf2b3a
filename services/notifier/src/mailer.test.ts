import { describe, expect, it } from 'vitest';
import { classifySmtpError } from './mailer.ts';

describe('SMTP failures: retry or give up', () => {
  it.each<[string, unknown, string, boolean]>([
    ['connection refused: try again later', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNECTION' }), 'CMS_SMTP_UNAVAILABLE', true],
    ['a timeout: try again later', Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }), 'CMS_SMTP_UNAVAILABLE', true],
    ['421 service not available: temporary', Object.assign(new Error('421 try later'), { code: 'EENVELOPE', responseCode: 421 }), 'CMS_SMTP_UNAVAILABLE', true],
    ['550 mailbox unavailable: the server\'s final word', Object.assign(new Error('550 no such user scr@x'), { code: 'EENVELOPE', responseCode: 550 }), 'CMS_SMTP_REJECTED', false],
  ])('%s', (_why, err, code, retryable) => {
    const e = classifySmtpError(err);
    expect([e.code, e.retryable]).toEqual([code, retryable]);
  });

  it('never carries the server\'s reply text (it can echo addresses) into a permanent failure', () => {
    expect(classifySmtpError(Object.assign(new Error('550 5.1.1 <scr@cms.example>: unknown'), { responseCode: 550 })).message).not.toContain('@');
  });
});
