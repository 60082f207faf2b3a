import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@cms-router/events';
import { createKafka, createLogger, ensureTopics, readTopicToEnd } from '@cms-router/platform';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { kafkaClusterId, kafkaRuntime, readStackSettings } from '@cms-router/stack';
import { application, endpoints, uniqueName, waitFor } from '../harness/index.ts';
import { startServiceProcess, waitForStarted } from '../harness/system.ts';

/**
 * A second broker, as production runs one: SASL/SCRAM-SHA-512 over TLS only, its SCRAM users added when
 * its storage is formatted, its certificate signed by a CA this test makes. The services connect to it
 * with the variables an operator sets (KAFKA_SSL_CA_FILE, KAFKA_SASL_*); a wrong password fails fast.
 */
const PORT = Number(process.env['CMS_TEST_SECURE_KAFKA_PORT'] ?? 19094);
const CONTROLLER_PORT = PORT + 1;
const PASSWORD = `cms-${Math.random().toString(36).slice(2)}`;

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
};

function makeCertificates(dir: string): { ca: string; keystore: string; storePassword: string } {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=cms-test-ca'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'san.ext'], dir);
  const storePassword = 'keystore-secret';
  openssl(['pkcs12', '-export', '-in', 'broker.pem', '-inkey', 'broker.key', '-certfile', 'ca.pem', '-out', 'broker.p12', '-passout', `pass:${storePassword}`], dir);
  return { ca: join(dir, 'ca.pem'), keystore: join(dir, 'broker.p12'), storePassword };
}

describe('Kafka with SASL/SCRAM over TLS', () => {
  const settings = readStackSettings();
  let dir: string;
  let ca: string;
  let broker: ChildProcess | undefined;
  const namespace = uniqueName('secure');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cms-secure-kafka-'));
    const certs = makeCertificates(dir);
    ca = certs.ca;
    const data = join(dir, 'data');
    mkdirSync(data);
    const jaas = (user: string, password: string): string => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`;
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}`,
      `listeners=SASL_SSL://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`,
      `advertised.listeners=SASL_SSL://127.0.0.1:${PORT}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=SASL_SSL',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
      `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas('admin', 'admin-secret')}`,
      `ssl.keystore.location=${certs.keystore}`,
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.password=${certs.storePassword}`,
      `ssl.key.password=${certs.storePassword}`,
      // The broker is its own client on the inter-broker listener, and checks at start-up that it trusts itself.
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${ca}`,
      `log.dirs=${data}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n');
    const config = join(dir, 'server.properties');
    writeFileSync(config, props);
    const runtime = kafkaRuntime(settings, () => undefined);
    const log = runtime.logArgs(dir);
    // SCRAM credentials are written into the metadata log at format time: the broker starts with its users.
    execFileSync(runtime.java, [...log, '-cp', runtime.classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${kafkaClusterId()}`, '-c', config, '--add-scram', 'SCRAM-SHA-512=[name=admin,password=admin-secret]', '--add-scram', `SCRAM-SHA-512=[name=cms,password=${PASSWORD}]`], { stdio: 'pipe' });
    const output: string[] = [];
    broker = spawn(runtime.java, ['-Xmx384m', ...log, '-cp', runtime.classpath, 'kafka.Kafka', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      output.push(b.toString());
      if (output.length > 200) output.shift();
    };
    broker.stdout?.on('data', keep);
    broker.stderr?.on('data', keep);
    const kafka = createKafka({ brokers: [`127.0.0.1:${PORT}`], clientId: 'cms-secure-probe', ssl: { ca: [readFileSync(ca, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username: 'cms', password: PASSWORD }, topicNamespace: namespace, sessionTimeoutMs: 10_000, partitionsConsumedConcurrently: 1 }, createLogger({ service: 'test', level: 'silent' }));
    const exited = new Promise<never>((_resolve, reject) => broker?.once('exit', (code) => { reject(new Error(`the SASL/TLS broker exited with code ${String(code)}`)); }));
    await Promise.race([exited, waitFor(async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        return (await admin.describeCluster()).brokers.length > 0;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }, 'the SASL/TLS broker to start', 180_000, 1_000)]).catch((err: unknown) => {
      // The broker's own words say why (a bad property, a port in use): show its last lines.
      throw new Error(`${err instanceof Error ? err.message : String(err)}; broker exit code ${String(broker?.exitCode)}; its last output:\n${output.join('').split('\n').slice(-30).join('\n')}`);
    });
  }, 300_000);

  afterAll(() => {
    broker?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the router connects with SCRAM-SHA-512 over TLS (private CA), creates its topics and routes an application', { timeout: 300_000 }, async () => {
    const env = { KAFKA_BROKERS: `127.0.0.1:${PORT}`, KAFKA_SSL_CA_FILE: ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'cms', KAFKA_SASL_PASSWORD: PASSWORD, KAFKA_TOPIC_NAMESPACE: namespace, ROUTER_GROUP_ID: uniqueName('secure-router'), REDIS_KEY_PREFIX: uniqueName('secure') };
    const router = startServiceProcess('router', env);
    try {
      await waitForStarted(router);
      const kafka = createKafka({ brokers: [`127.0.0.1:${PORT}`], clientId: 'cms-secure-test', ssl: { ca: [readFileSync(ca, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username: 'cms', password: PASSWORD }, topicNamespace: namespace, sessionTimeoutMs: 10_000, partitionsConsumedConcurrently: 1 }, createLogger({ service: 'test', level: 'silent' }));
      const admin = kafka.admin();
      await admin.connect();
      expect(await ensureTopics(admin, ROUTER_TOPICS, namespace)).toEqual([]); // the router made them all
      await admin.disconnect();
      const { createSchemaRegistry, createSerde } = await import('@cms-router/platform');
      const serde = createSerde(createSchemaRegistry({ url: endpoints().SCHEMA_REGISTRY_URL }), namespace);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: `${namespace}.${TOPICS.caseFacts}`, messages: [{ key: 'SEC-CG-1', value: await serde.encode(TOPICS.caseFacts, application('SEC-CG-1')) }] });
      await producer.disconnect();
      let routed = false;
      await waitFor(async () => {
        await readTopicToEnd(kafka, `${namespace}.${TOPICS.assignments}`, (_p, m) => {
          if (m.key?.toString() === 'SEC-CG-1') routed = true;
        });
        return routed;
      }, 'the application routed over SASL/TLS', 120_000, 1_000);
      expect(routed).toBe(true);
    } finally {
      await router.kill('SIGTERM');
    }
  });

  it('a wrong password is a clear error in about a second, and the service exits without retrying for ever', { timeout: 120_000 }, async () => {
    const kafka = createKafka({ brokers: [`127.0.0.1:${PORT}`], clientId: 'cms-secure-wrong', ssl: { ca: [readFileSync(ca, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username: 'cms', password: 'not-the-password' }, topicNamespace: namespace, sessionTimeoutMs: 10_000, partitionsConsumedConcurrently: 1 }, createLogger({ service: 'test', level: 'silent' }));
    const admin = kafka.admin();
    const began = Date.now();
    const error = await admin.connect().then(() => undefined, (err: unknown) => err as Error);
    const ms = Date.now() - began;
    expect(error?.message).toMatch(/SASL SCRAM SHA512 authentication failed/i);
    expect(ms).toBeLessThan(5_000);
    console.log(`[secure kafka] wrong password refused in ${ms} ms`);

    const router = startServiceProcess('router', { KAFKA_BROKERS: `127.0.0.1:${PORT}`, KAFKA_SSL_CA_FILE: ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'cms', KAFKA_SASL_PASSWORD: 'not-the-password', KAFKA_TOPIC_NAMESPACE: namespace, ROUTER_GROUP_ID: uniqueName('secure-wrong'), REDIS_KEY_PREFIX: uniqueName('secure') });
    const started = Date.now();
    const code = await router.exited;
    const output = router.output.join('');
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(output).toMatch(/authentication failed/i);
    expect(output).not.toContain('not-the-password');
  });

  it('a client that does not trust the broker’s CA is refused at the TLS handshake', { timeout: 60_000 }, async () => {
    const kafka = createKafka({ brokers: [`127.0.0.1:${PORT}`], clientId: 'cms-secure-untrusted', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'cms', password: PASSWORD }, topicNamespace: namespace, sessionTimeoutMs: 10_000, partitionsConsumedConcurrently: 1 }, createLogger({ service: 'test', level: 'silent' }));
    const admin = kafka.admin();
    const error = await admin.connect().then(() => undefined, (err: unknown) => err as Error);
    expect(`${error?.message ?? ''} ${(error as { cause?: Error } | undefined)?.cause?.message ?? ''}`).toMatch(/self.signed|certificate|Connection error/i);
  });
});
