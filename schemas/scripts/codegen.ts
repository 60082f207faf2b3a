// Generates packages/events/src/generated/contract.ts from schemas/avro/*.avsc.
//   node schemas/scripts/codegen.ts          write the file
//   node schemas/scripts/codegen.ts --check  exit 1 when the committed file is stale (CI)
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateContract, loadSchemas } from '../src/codegen.ts';

const root = resolve(import.meta.dirname, '..', '..');
const target = join(root, 'packages/events/src/generated/contract.ts');
const generated = generateContract(loadSchemas(join(root, 'schemas/avro')));

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== generated) {
    console.error('packages/events/src/generated/contract.ts is stale: run `npm run codegen` and commit the result.');
    process.exit(1);
  }
  console.log('generated contract is up to date');
} else {
  writeFileSync(target, generated);
  console.log(`wrote ${target}`);
}
