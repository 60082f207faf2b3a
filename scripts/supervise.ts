// `node scripts/supervise.ts <service>`: runs services/<service>/src/main.ts and restarts it whenever it
// exits, until SIGTERM (which `npm run stack -- down` sends to the whole process group). Used by the demo.
import { join } from 'node:path';
import { REPO_ROOT, supervise } from '@cms-router/stack';

const name = process.argv[2] ?? '';
if (!/^[a-z-]+$/.test(name)) {
  console.error('usage: node scripts/supervise.ts <service>');
  process.exit(2);
}
await supervise(process.execPath, [join(REPO_ROOT, 'services', name, 'src', 'main.ts')], {
  name,
  say: (line) => {
    console.log(JSON.stringify({ level: 'warn', time: new Date().toISOString(), service: 'supervisor', msg: line }));
  },
});
