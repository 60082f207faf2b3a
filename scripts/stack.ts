// `npm run stack -- up|down|status|logs [service]|restart <service>`: the local stack without Docker.
import { isCmsError, messageOf } from '@cms-router/errors';
import { down, logTail, readStackSettings, restart, SERVICE_NAMES, status, up, type ServiceName } from '@cms-router/stack';

const say = (line: string): void => {
  console.log(`[stack] ${line}`);
};

async function main(argv: string[]): Promise<number> {
  const [command = 'status', arg] = argv;
  const settings = readStackSettings();
  switch (command) {
    case 'up': {
      const result = await up(settings, say);
      say(result.started.length === 0 ? 'already up' : `up in ${(result.ms / 1000).toFixed(1)} s (started: ${result.started.join(', ')})`);
      for (const [name, value] of Object.entries(result.endpoints)) say(`${name}=${value}`);
      return 0;
    }
    case 'down':
      await down(settings, say);
      say('down');
      return 0;
    case 'status': {
      let allReady = true;
      for (const st of await status(settings)) {
        allReady &&= st.ready;
        say(`${st.name.padEnd(8)} ${st.ready ? 'ready' : st.running ? 'starting' : 'stopped'}${st.pid ? ` (pid ${st.pid})` : ''}  ${st.description}`);
      }
      return allReady ? 0 : 3;
    }
    case 'logs': {
      const names = arg ? [arg] : SERVICE_NAMES;
      for (const name of names) {
        if (!SERVICE_NAMES.includes(name as ServiceName)) throw new Error(`unknown service "${name}"; one of ${SERVICE_NAMES.join(', ')}`);
        console.log(`==> ${name} <==\n${logTail(settings, name as ServiceName)}`);
      }
      return 0;
    }
    case 'restart': {
      // One service, on the same data: a broker or registry restart, as the tests do it.
      if (!arg || !SERVICE_NAMES.includes(arg as ServiceName)) throw new Error(`restart needs one of ${SERVICE_NAMES.join(', ')}`);
      await restart(settings, arg as ServiceName, say);
      return 0;
    }
    default:
      console.error('usage: npm run stack -- up|down|status|logs [service]|restart <service>   (services: kafka, registry, redis, smtp)');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`[stack] error ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exitCode = 1;
  },
);
