// Composition root of the router: config, rules, app. The only file that exits the process.
import { readFileSync } from 'node:fs';
import { isCmsError, messageOf } from '@cms-router/errors';
import { runService } from '@cms-router/platform';
import { defaultRules, loadRules } from '@cms-router/rules';
import { createRouterApp } from './app.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  const rules = config.rulesFile ? loadRules(JSON.parse(readFileSync(config.rulesFile, 'utf8')), config.rulesFile) : defaultRules();
  return runService({ name: 'router', platform: config.platform, build: (parts) => createRouterApp({ ...parts, config, rules }) });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One line, no stack: configuration and start-up errors are for operators.
    console.error(`router: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exit(1);
  },
);
