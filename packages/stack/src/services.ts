import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { ensureTools, TOOLS } from './install.ts';
import { findJava } from './java.ts';
import { apicurioArchive, kafkaClasspath } from './maven.ts';
import { pollUntil, run, spawnDetached, tcpOpen, which } from './process.ts';
import { REPO_ROOT, paths, type ServiceName, type StackSettings } from './settings.ts';

export interface ServiceDriver {
  readonly name: ServiceName;
  /** A service this one needs running before it starts (the registry keeps its schemas in Kafka). */
  readonly after?: ServiceName;
  readonly ports: (s: StackSettings) => number[];
  /** Downloads and one-time set-up; may take minutes on a cold machine. */
  readonly prepare: (s: StackSettings, say: (line: string) => void) => void;
  readonly start: (s: StackSettings) => number;
  readonly ready: (s: StackSettings) => Promise<boolean>;
  readonly describe: (s: StackSettings) => string;
}

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

// ---------------------------------------------------------------------------------------------- Kafka

function kafkaProperties(s: StackSettings, dataDir: string): string {
  // Static quorum (controller.quorum.voters) so the same file formats and runs on 3.9 and 4.x.
  // Replication factor 1 for the internal topics so transactions and consumer groups work on one node.
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${s.host}:${s.kafkaControllerPort}`,
    `listeners=PLAINTEXT://${s.host}:${s.kafkaPort},CONTROLLER://${s.host}:${s.kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://${s.host}:${s.kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created deliberately (services and tests declare theirs); a typo must fail, not create.
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
    // Time retention and compaction act within seconds here, so tests can watch a topic expire for real.
    'log.retention.check.interval.ms=5000',
    'log.cleaner.backoff.ms=5000',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = WARN
`;

const LOG4J1 = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
`;

let kafkaCp: string | undefined;

/**
 * A cluster id as Kafka makes them: 16 random bytes, base64url. Like Kafka's Uuid.randomUuid, never one
 * that starts with '-', which a command line reads as an option (1 in 64 fresh stacks failed to format).
 */
export function kafkaClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url').slice(0, 22);
    if (!id.startsWith('-')) return id;
  }
}

export const kafkaDriver: ServiceDriver = {
  name: 'kafka',
  ports: (s) => [s.kafkaPort, s.kafkaControllerPort],
  describe: (s) => `Kafka ${s.kafkaVersion} (KRaft) on ${s.host}:${s.kafkaPort}`,
  prepare: (s, say) => {
    ensureTools([TOOLS.java17], say, () => hasJava(17, s.javaHome));
    const p = paths(s);
    kafkaCp = kafkaClasspath(s.kafkaVersion, p.kafkaClasspath, s.m2Repository, say);
    write(p.kafkaConfig, kafkaProperties(s, p.kafkaData));
    write(`${p.kafkaLogConfig}.log4j2.properties`, LOG4J2);
    write(`${p.kafkaLogConfig}.log4j.properties`, LOG4J1);
    if (!existsSync(join(p.kafkaData, 'meta.properties'))) {
      const java = findJava(17, s.javaHome, 'Kafka');
      const idFile = join(s.dir, 'data', 'kafka-cluster-id');
      if (!existsSync(idFile) || readFileSync(idFile, 'utf8').trim().startsWith('-')) write(idFile, kafkaClusterId());
      const clusterId = readFileSync(idFile, 'utf8').trim();
      mkdirSync(p.kafkaData, { recursive: true });
      const result = run(java.bin, [...logArgs(s), '-cp', kafkaCp, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', p.kafkaConfig, '--ignore-formatted']);
      if (result.status !== 0) throw new CmsError('CMS_STACK_NOT_READY', `Kafka storage format failed: ${result.output.trim().split('\n').slice(-3).join(' | ')}`);
    }
  },
  start: (s) => {
    const p = paths(s);
    const java = findJava(17, s.javaHome, 'Kafka');
    if (kafkaCp === undefined) throw new CmsError('CMS_STACK_NOT_READY', 'Kafka was not prepared');
    return spawnDetached(
      java.bin,
      [`-Xmx${s.kafkaHeap}`, `-Xms${s.kafkaHeap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', ...logArgs(s), '-cp', kafkaCp, 'kafka.Kafka', p.kafkaConfig],
      { logFile: p.log('kafka'), pidFile: p.pid('kafka') },
    );
  },
  ready: async (s) => {
    if (!(await tcpOpen(s.host, s.kafkaPort))) return false;
    const admin = new Kafka({ clientId: 'cms-stack-probe', brokers: [`${s.host}:${s.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } finally {
      await admin.disconnect();
    }
  },
};

/**
 * What it takes to run another Kafka node beside the stack's (a test's SASL/TLS broker): the java binary,
 * the classpath from the Maven repository, and the logging arguments for this Kafka version.
 */
export function kafkaRuntime(s: StackSettings, say: (line: string) => void, opts: { /** With Kafka's perf tools (a classpath of its own). */ readonly tools?: boolean } = {}): { java: string; classpath: string; logArgs: (configDir: string) => string[] } {
  ensureTools([TOOLS.java17], say, () => hasJava(17, s.javaHome));
  const classpath = opts.tools
    ? kafkaClasspath(s.kafkaVersion, paths(s).kafkaClasspath.replace(/\.classpath$/, '-tools.classpath'), s.m2Repository, say, { tools: true })
    : kafkaClasspath(s.kafkaVersion, paths(s).kafkaClasspath, s.m2Repository, say);
  const v4 = Number(s.kafkaVersion.split('.')[0]) >= 4;
  return {
    java: findJava(17, s.javaHome, 'Kafka').bin,
    classpath,
    logArgs: (configDir) => {
      write(join(configDir, 'log4j2.properties'), LOG4J2);
      write(join(configDir, 'log4j.properties'), LOG4J1);
      return v4 ? [`-Dlog4j2.configurationFile=${join(configDir, 'log4j2.properties')}`] : [`-Dlog4j.configuration=file:${join(configDir, 'log4j.properties')}`];
    },
  };
}

function hasJava(minMajor: number, home: string | undefined): boolean {
  try {
    findJava(minMajor, home, 'probe');
    return true;
  } catch {
    return false;
  }
}

function logArgs(s: StackSettings): string[] {
  const p = paths(s);
  return Number(s.kafkaVersion.split('.')[0]) >= 4
    ? [`-Dlog4j2.configurationFile=${p.kafkaLogConfig}.log4j2.properties`]
    : [`-Dlog4j.configuration=file:${p.kafkaLogConfig}.log4j.properties`];
}

// ------------------------------------------------------------------------------------------- Registry

/** The registry's own topics (kafkasql storage); never a contract topic, never deleted by a test. */
export const REGISTRY_TOPICS = { journal: 'cms-registry-journal', snapshots: 'cms-registry-snapshots', events: 'cms-registry-events' } as const;

export const registryDriver: ServiceDriver = {
  name: 'registry',
  after: 'kafka',
  ports: (s) => [s.registryPort, s.registryManagementPort],
  describe: (s) => `Apicurio Registry ${s.apicurioVersion} on http://${s.host}:${s.registryPort} (Confluent API /apis/ccompat/v7, UI-less)`,
  prepare: (s, say) => {
    findJava(21, s.apicurioJavaHome, 'Apicurio Registry 3');
    const home = paths(s).apicurioHome;
    if (!existsSync(join(home, 'quarkus-run.jar'))) {
      const archive = apicurioArchive(s.apicurioVersion, s.m2Repository, say);
      mkdirSync(home, { recursive: true });
      const result = run('tar', ['-xzf', archive, '-C', home]);
      if (result.status !== 0) throw new CmsError('CMS_STACK_DOWNLOAD_FAILED', `could not unpack ${archive}: ${result.output.trim()}`);
    }
  },
  start: (s) => {
    const p = paths(s);
    const java = findJava(21, s.apicurioJavaHome, 'Apicurio Registry 3');
    return spawnDetached(
      java.bin,
      [
        `-Xmx${s.registryHeap}`,
        '-XX:+UseSerialGC',
        `-Dquarkus.http.host=${s.host}`,
        `-Dquarkus.http.port=${s.registryPort}`,
        `-Dquarkus.management.host=${s.host}`,
        `-Dquarkus.management.port=${s.registryManagementPort}`,
        // Durable storage in Kafka (kafkasql): schema ids survive a registry restart, so every record kept
        // forever (changelogs, history) still decodes. In-memory storage would hand its ids to other schemas.
        '-Dapicurio.storage.kind=kafkasql',
        `-Dapicurio.kafkasql.bootstrap.servers=${s.host}:${s.kafkaPort}`,
        `-Dapicurio.kafkasql.topic=${REGISTRY_TOPICS.journal}`,
        `-Dapicurio.kafkasql.snapshots.topic=${REGISTRY_TOPICS.snapshots}`,
        `-Dapicurio.events.kafka.topic=${REGISTRY_TOPICS.events}`,
        '-Dquarkus.log.level=WARN',
        '-Dquarkus.log.category."io.apicurio.registry.logging.audit".level=WARN',
        '-jar',
        'quarkus-run.jar',
      ],
      { logFile: p.log('registry'), pidFile: p.pid('registry'), cwd: p.apicurioHome },
    );
  },
  ready: async (s) => {
    // The API answers before kafkasql has read its journal back (it would list no subjects and refuse
    // known ids for ~13 s after a restart); the readiness check on the management port waits for that.
    const ready = await fetch(`http://${s.host}:${s.registryManagementPort}/health/ready`, { signal: AbortSignal.timeout(2000) });
    if (!ready.ok) return false;
    const res = await fetch(`http://${s.host}:${s.registryPort}/apis/ccompat/v7/subjects`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  },
};

// ---------------------------------------------------------------------------------------------- Redis

export const redisDriver: ServiceDriver = {
  name: 'redis',
  ports: (s) => [s.redisPort],
  describe: (s) => `Redis on redis://${s.host}:${s.redisPort}`,
  prepare: (s, say) => {
    ensureTools([TOOLS.redis], say);
    mkdirSync(paths(s).redisData, { recursive: true });
  },
  start: (s) => {
    const p = paths(s);
    const bin = which('redis-server') ?? 'redis-server';
    // Append-only file so a restart of the stack keeps state; tests that simulate Redis loss FLUSHALL.
    return spawnDetached(bin, ['--port', String(s.redisPort), '--bind', s.host, '--dir', p.redisData, '--save', '', '--appendonly', 'yes', '--protected-mode', 'yes',
      // State is a cache of the changelogs, but a silently evicted key is a wrong answer until the next
      // restore check: refuse writes loudly (the services retry and alert) rather than evict.
      '--maxmemory-policy', 'noeviction'], {
      logFile: p.log('redis'),
      pidFile: p.pid('redis'),
    });
  },
  ready: async (s) => {
    const { connect } = await import('node:net');
    return new Promise<boolean>((resolve) => {
      const socket = connect({ host: s.host, port: s.redisPort });
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => {
        resolve(false);
      });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
  },
};

// ----------------------------------------------------------------------------------------- SMTP sink

export const smtpDriver: ServiceDriver = {
  name: 'smtp',
  ports: (s) => [s.smtpPort, s.smtpWebPort],
  describe: (s) => `MailDev SMTP sink on smtp://${s.host}:${s.smtpPort}, web UI and API on http://${s.host}:${s.smtpWebPort}`,
  prepare: () => {
    if (!existsSync(join(REPO_ROOT, 'node_modules/maildev/bin/maildev'))) {
      throw new CmsError('CMS_STACK_TOOL_MISSING', 'MailDev is not installed; run npm install in the repository root');
    }
  },
  start: (s) => {
    const p = paths(s);
    return spawnDetached(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/maildev/bin/maildev'), '--smtp', String(s.smtpPort), '--web', String(s.smtpWebPort), '--ip', s.host, '--web-ip', s.host, '--silent'],
      { logFile: p.log('smtp'), pidFile: p.pid('smtp') },
    );
  },
  ready: async (s) => {
    const res = await fetch(`http://${s.host}:${s.smtpWebPort}/email`, { signal: AbortSignal.timeout(2000) });
    return res.ok && (await tcpOpen(s.host, s.smtpPort));
  },
};

// ------------------------------------------------------------------------------------------ PostgreSQL

/** The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<major>/bin), if any. */
export function postgresBin(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

/** PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(run('id', ['-u', 'postgres']).output.trim());
  const gid = Number(run('id', ['-g', 'postgres']).output.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) throw new CmsError('CMS_STACK_TOOL_MISSING', 'running as root, PostgreSQL needs the postgres user (apt-get install postgresql creates it)');
  return { uid, gid };
}

/**
 * Where the data lives: under the stack's directory, unless PostgreSQL's user cannot reach it there (a
 * clone under a directory only root may enter); then under /var/lib/cms-router, one per stack directory.
 */
function postgresDataDir(s: StackSettings, user: { uid: number; gid: number } | undefined): string {
  const preferred = paths(s).postgresData;
  if (!user) return preferred;
  mkdirSync(join(preferred, '..'), { recursive: true });
  if (run('test', ['-x', join(preferred, '..')], user).status === 0) return preferred;
  const id = createHash('sha256').update(s.dir).digest('hex').slice(0, 12);
  return join('/var/lib/cms-router', `postgres-${id}`);
}

export const postgresDriver: ServiceDriver = {
  name: 'postgres',
  ports: (s) => [s.postgresPort],
  describe: (s) => `PostgreSQL on postgres://cms@${s.host}:${s.postgresPort}/cms`,
  prepare: (s, say) => {
    ensureTools([TOOLS.postgres], say, () => postgresBin() !== undefined);
    const bin = postgresBin() as string;
    const user = postgresUser();
    const dir = postgresDataDir(s, user);
    if (existsSync(join(dir, 'PG_VERSION'))) return;
    mkdirSync(dir, { recursive: true });
    if (user) chownSync(dir, user.uid, user.gid);
    // Trust on loopback only: a developer's and CI's database, bound to 127.0.0.1 (docker-compose sets a password).
    const init = run(join(bin, 'initdb'), ['-D', dir, '-U', 'cms', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], user ?? {});
    if (init.status !== 0) throw new CmsError('CMS_STACK_NOT_READY', `PostgreSQL initdb failed: ${init.output.trim().split('\n').slice(-3).join(' | ')}`);
  },
  start: (s) => {
    const p = paths(s);
    const user = postgresUser();
    // No Unix socket (its default directory needs root to create); TCP on the stack's host only.
    return spawnDetached(join(postgresBin() as string, 'postgres'), ['-D', postgresDataDir(s, user), '-h', s.host, '-p', String(s.postgresPort), '-c', 'unix_socket_directories=', '-c', 'max_connections=200', '-c', 'shared_buffers=64MB'], {
      logFile: p.log('postgres'),
      pidFile: p.pid('postgres'),
      ...(user ?? {}),
    });
  },
  ready: async (s) => {
    if (!(await tcpOpen(s.host, s.postgresPort))) return false;
    const { default: pg } = await import('pg');
    // The first start creates the `cms` database (initdb makes only `postgres`).
    const admin = new pg.Client({ host: s.host, port: s.postgresPort, user: 'cms', database: 'postgres', connectionTimeoutMillis: 2000 });
    await admin.connect();
    try {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['cms']);
      if (found.rowCount === 0) await admin.query('CREATE DATABASE cms');
      return true;
    } finally {
      await admin.end();
    }
  },
};

// ------------------------------------------------------------------------------------------ OIDC issuer

export const oidcDriver: ServiceDriver = {
  name: 'oidc',
  ports: (s) => [s.oidcPort],
  describe: (s) => `OpenID Connect issuer (local demo users) on http://${s.host}:${s.oidcPort}`,
  prepare: () => undefined,
  start: (s) => {
    const p = paths(s);
    return spawnDetached(process.execPath, [join(REPO_ROOT, 'packages/stack/src/oidc-issuer.ts')], {
      logFile: p.log('oidc'),
      pidFile: p.pid('oidc'),
      env: { ...process.env, OIDC_HOST: s.host, OIDC_PORT: String(s.oidcPort) },
    });
  },
  ready: async (s) => {
    const res = await fetch(`http://${s.host}:${s.oidcPort}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  },
};

export const DRIVERS: readonly ServiceDriver[] = [kafkaDriver, registryDriver, redisDriver, smtpDriver, postgresDriver, oidcDriver];

export async function waitReady(driver: ServiceDriver, s: StackSettings): Promise<boolean> {
  return pollUntil(() => driver.ready(s), s.readyTimeoutMs, 500);
}
