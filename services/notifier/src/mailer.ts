import nodemailer from 'nodemailer';
import { CmsError, messageOf } from '@cms-router/errors';

export interface OutgoingEmail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Stable across resends, so a duplicate after a crash is recognisable as the same message. */
  readonly messageId: string;
}

/** The SMTP port: send one message or throw CMS_SMTP_UNAVAILABLE (try again) / CMS_SMTP_REJECTED (never). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

/** Connection-level failures and 4xx replies are temporary; a 5xx reply is the server's final word. */
export function classifySmtpError(err: unknown): CmsError {
  const e = err as { responseCode?: number; code?: string };
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // The reply text can echo addresses back; keep the code and the class of failure only.
  const what = reply !== undefined ? `SMTP reply ${reply}` : `SMTP ${e.code ?? 'error'}`;
  if (reply !== undefined && reply >= 500) return new CmsError('CMS_SMTP_REJECTED', `${what}: the server refused the message`, { cause: err, context: { reply } });
  return new CmsError('CMS_SMTP_UNAVAILABLE', `${what}: ${reply !== undefined ? 'temporary failure' : messageOf(err).split('\n')[0]?.slice(0, 120) ?? ''}`, { cause: err, context: { reply: reply ?? null } });
}

/** nodemailer over SMTP/SMTPS, pooled, with bounded timeouts so a hung server cannot hold the work partition. */
export function createSmtpMailer(opts: { url: string; from: string; timeoutMs: number; maxConnections?: number }): Mailer {
  const transport = nodemailer.createTransport({
    url: opts.url,
    pool: true,
    maxConnections: opts.maxConnections ?? 2,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    async send(email) {
      try {
        await transport.sendMail({ from: opts.from, to: email.to, subject: email.subject, text: email.text, html: email.html, messageId: email.messageId, headers: { 'X-CMS-Router': 'notifier' } });
      } catch (err) {
        throw classifySmtpError(err);
      }
    },
    close() {
      transport.close();
    },
  };
}
