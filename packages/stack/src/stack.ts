import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CmsError } from '@cms-router/errors';
import { isAlive, pollUntil, portFree, readPid, removeFile, stopGroup } from './process.ts';
import { DRIVERS, type ServiceDriver } from './services.ts';
import { endpointsOf, paths, type ServiceName, type StackEndpoints, type StackSettings } from './settings.ts';

export type Say = (line: string) => void;

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly ready: boolean;
  readonly description: string;
  readonly log: string;
}

async function readySafe(driver: ServiceDriver, s: StackSettings): Promise<boolean> {
  try {
    return await driver.ready(s);
  } catch {
    return false;
  }
}

export async function status(s: StackSettings): Promise<ServiceStatus[]> {
  const p = paths(s);
  return Promise.all(
    DRIVERS.map(async (driver) => {
      const pid = readPid(p.pid(driver.name));
      const running = pid !== undefined && isAlive(pid);
      return { name: driver.name, pid, running, ready: running && (await readySafe(driver, s)), description: driver.describe(s), log: p.log(driver.name) };
    }),
  );
}

/**
 * Brings the stack up. Idempotent: services already started by us and ready are left alone.
 * Every failure is one CmsError with a line a person can act on.
 */
export async function up(s: StackSettings, say: Say = () => undefined): Promise<{ endpoints: StackEndpoints; started: ServiceName[]; ms: number }> {
  const began = Date.now();
  const p = paths(s);
  mkdirSync(s.dir, { recursive: true });
  const toStart: ServiceDriver[] = [];
  const alreadyStarting: ServiceDriver[] = [];
  for (const driver of DRIVERS) {
    const pid = readPid(p.pid(driver.name));
    if (pid !== undefined && isAlive(pid)) {
      alreadyStarting.push(driver);
      continue;
    }
    if (pid !== undefined) removeFile(p.pid(driver.name));
    for (const port of driver.ports(s)) {
      if (!(await portFree(s.host, port))) {
        throw new CmsError('CMS_STACK_PORT_IN_USE', `port ${port} (${driver.name}) on ${s.host} is already in use by a process this stack did not start; stop it or set another CMS_STACK_*_PORT`, {
          context: { port, service: driver.name },
        });
      }
    }
    toStart.push(driver);
  }
  for (const driver of toStart) driver.prepare(s, say);
  const ready = new Map<ServiceName, Promise<void>>();
  const readyOf = (driver: ServiceDriver): Promise<void> => {
    let promise = ready.get(driver.name);
    if (!promise) {
      promise = waitStarted(s, driver);
      ready.set(driver.name, promise);
    }
    return promise;
  };
  const startNow = (driver: ServiceDriver): void => {
    say(`starting ${driver.describe(s)}`);
    driver.start(s);
  };
  // A service with `after` starts once that one is ready (the registry keeps its schemas in Kafka).
  const dependents = toStart.filter((d) => d.after !== undefined);
  for (const driver of toStart) if (driver.after === undefined) startNow(driver);
  await Promise.all([
    ...[...toStart, ...alreadyStarting].filter((d) => !dependents.includes(d)).map(readyOf),
    ...dependents.map(async (driver) => {
      const dependency = DRIVERS.find((d) => d.name === driver.after);
      if (dependency) await readyOf(dependency);
      startNow(driver);
      await readyOf(driver);
    }),
  ]).catch(async (err: unknown) => {
    // Leave nothing half-started behind us: stop what this call started.
    await Promise.all(toStart.map((d) => stopOne(s, d.name)));
    throw err;
  });
  const endpoints = endpointsOf(s);
  writeFileSync(p.endpoints, `${JSON.stringify(endpoints, null, 2)}\n`);
  return { endpoints, started: toStart.map((d) => d.name), ms: Date.now() - began };
}

async function waitStarted(s: StackSettings, driver: ServiceDriver): Promise<void> {
  const p = paths(s);
  const pidFile = p.pid(driver.name);
  const ok = await pollUntil(
    async () => {
      const pid = readPid(pidFile);
      if (pid === undefined || !isAlive(pid)) throw new CmsError('CMS_STACK_NOT_READY', `${driver.name} exited during start-up; see ${p.log(driver.name)}`);
      return driver.ready(s);
    },
    s.readyTimeoutMs,
    500,
  );
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) throw new CmsError('CMS_STACK_NOT_READY', `${driver.name} exited during start-up; see ${p.log(driver.name)}`);
  if (!ok) throw new CmsError('CMS_STACK_NOT_READY', `${driver.name} did not become ready within ${s.readyTimeoutMs} ms; see ${p.log(driver.name)}`);
}

async function stopOne(s: StackSettings, name: ServiceName): Promise<'stopped' | 'killed' | 'not-running'> {
  const pidFile = paths(s).pid(name);
  const pid = readPid(pidFile);
  const outcome = pid === undefined ? 'not-running' : await stopGroup(pid);
  removeFile(pidFile);
  return outcome;
}

/** Stops only what `up` and the demo started (pid files): services first, then the stack in reverse order. */
export async function down(s: StackSettings, say: Say = () => undefined): Promise<void> {
  const pidDir = join(s.dir, 'pids');
  const infra = new Set(DRIVERS.map((d) => `${d.name}.pid`));
  const others = existsSync(pidDir) ? readdirSync(pidDir).filter((f) => f.endsWith('.pid') && !infra.has(f)) : [];
  for (const file of others) {
    const pid = readPid(join(pidDir, file));
    const outcome = pid === undefined ? 'not-running' : await stopGroup(pid);
    removeFile(join(pidDir, file));
    if (outcome !== 'not-running') say(`${file.replace(/\.pid$/, '')}: ${outcome}`);
  }
  for (const driver of [...DRIVERS].reverse()) {
    const outcome = await stopOne(s, driver.name);
    if (outcome !== 'not-running') say(`${driver.name}: ${outcome}`);
  }
  removeFile(paths(s).endpoints);
}

export function logTail(s: StackSettings, name: ServiceName, lines = 40): string {
  const file = paths(s).log(name);
  if (!existsSync(file)) return `(no log yet at ${file})`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

/** Stops one service of the stack and starts it again on the same data (a broker restart, a registry restart). */
export async function restart(s: StackSettings, name: ServiceName, say: Say = () => undefined): Promise<void> {
  const driver = DRIVERS.find((d) => d.name === name);
  if (!driver) throw new CmsError('CMS_STACK_NOT_READY', `no stack service ${name}`);
  say(`${name}: ${await stopOne(s, name)}`);
  const p = paths(s);
  await pollUntil(async () => (await Promise.all(driver.ports(s).map((port) => portFree(s.host, port)))).every(Boolean), 30_000, 200);
  driver.prepare(s, say);
  driver.start(s);
  const ok = await pollUntil(() => readySafe(driver, s), s.readyTimeoutMs, 500);
  if (!ok) throw new CmsError('CMS_STACK_NOT_READY', `${name} did not become ready again within ${s.readyTimeoutMs} ms; see ${p.log(name)}`);
  say(`${name}: ready again`);
}
