import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadRules, type Rules } from './load.ts';

/** The rules file shipped with the package. Reading a file at start-up is the only I/O here, and it is the caller's choice. */
export const DEFAULT_RULES_FILE = resolve(import.meta.dirname, '..', 'rules', 'cms-2012.rules.json');

let cached: Rules | undefined;
export function defaultRules(): Rules {
  cached ??= loadRules(JSON.parse(readFileSync(DEFAULT_RULES_FILE, 'utf8')), DEFAULT_RULES_FILE);
  return cached;
}
