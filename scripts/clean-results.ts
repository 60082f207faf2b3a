// Clears the previous run's vitest JSON reports so the summary counts this run only.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

rmSync(resolve(import.meta.dirname, '..', '.test-results'), { recursive: true, force: true });
