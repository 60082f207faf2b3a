// Composition root of sr-events: config, app. The only file that exits the process.
import { isCmsError, messageOf } from '@cms-router/errors';
import { runService } from '@cms-router/platform';
import { createSrEventsApp } from './app.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  return runService({ name: 'sr-events', platform: config.platform, build: (parts) => createSrEventsApp({ ...parts, config }) });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One line, no stack: configuration and start-up errors are for operators.
    console.error(`sr-events: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exit(1);
  },
);
