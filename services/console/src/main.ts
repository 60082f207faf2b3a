// Composition root of the console: config, rules, app. The only file that exits the process.
import { isCmsError, messageOf } from '@cms-router/errors';
import { runService } from '@cms-router/platform';
import { defaultRules } from '@cms-router/rules';
import { loadConfig } from './config.ts';
import { createConsoleApp } from './service.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  // Its state is its database: no Redis.
  return runService({ name: 'console', platform: config.platform, redis: false, build: (parts) => createConsoleApp({ ...parts, config, rules: defaultRules() }) });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One line, no stack: configuration and start-up errors are for operators.
    console.error(`console: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exit(1);
  },
);
