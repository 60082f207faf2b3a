// Composition root of the notifier: config, SMTP, clock, app. The only file that exits the process.
import { isCmsError, messageOf } from '@cms-router/errors';
import { runService } from '@cms-router/platform';
import { createNotifierApp, systemClock } from './app.ts';
import { loadConfig } from './config.ts';
import { createSmtpMailer } from './mailer.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  const mailer = createSmtpMailer({ url: config.smtp.url, from: config.smtp.from, timeoutMs: config.smtp.timeoutMs, maxConnections: config.smtp.maxConnections });
  return runService({
    name: 'notifier',
    platform: config.platform,
    build: (parts) =>
      createNotifierApp({
        ...parts,
        config,
        mailer,
        clock: systemClock,
        // Test-only: die at the configured point as a crash would (no shutdown, nothing flushed).
        fault: (point) => {
          if (config.faultInjection === point) process.kill(process.pid, 'SIGKILL');
        },
      }),
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One line, no stack: configuration and start-up errors are for operators.
    console.error(`notifier: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exit(1);
  },
);
