import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestEndpoints } from './endpoints.ts';

/** Images for the testcontainers path: the same topology as docker-compose.yml. */
export const IMAGES = {
  kafka: 'apache/kafka:4.1.1',
  registry: 'apicurio/apicurio-registry:3.0.9',
  redis: 'redis:7.4-alpine',
  smtp: 'maildev/maildev:2.2.1',
  postgres: 'postgres:16-alpine',
} as const;

/** True when a Docker-compatible engine answers (not just a client binary on PATH). */
export async function containerRuntimeAnswers(): Promise<boolean> {
  const socket = process.env['DOCKER_HOST'] ?? (existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined);
  if (!socket) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Starts the stack in containers. Returns the endpoints and a stop function. */
export async function startContainers(): Promise<{ endpoints: TestEndpoints; stop: () => Promise<void> }> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  const kafka = await new GenericContainer(IMAGES.kafka)
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .withExposedPorts({ container: 19092, host: 19092 })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      // PLAINTEXT for the tests on the host; INTERNAL for the registry's kafkasql storage on the network.
      KAFKA_LISTENERS: 'PLAINTEXT://:19092,INTERNAL://:29092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:19092,INTERNAL://kafka:29092',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  // Durable schemas, as in docker-compose.yml and the local stack: kafkasql keeps them in a Kafka topic.
  const registry = await new GenericContainer(IMAGES.registry)
    .withNetwork(network)
    .withEnvironment({ APICURIO_STORAGE_KIND: 'kafkasql', APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: 'kafka:29092', APICURIO_KAFKASQL_TOPIC: 'cms-registry-journal' })
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
    .start();
  const redis = await new GenericContainer(IMAGES.redis).withNetwork(network).withCommand(['redis-server', '--maxmemory-policy', 'noeviction']).withExposedPorts(6379).start();
  const smtp = await new GenericContainer(IMAGES.smtp).withNetwork(network).withExposedPorts(1025, 1080).withWaitStrategy(Wait.forHttp('/email', 1080)).start();
  const postgres = await new GenericContainer(IMAGES.postgres).withNetwork(network).withEnvironment({ POSTGRES_USER: 'cms', POSTGRES_DB: 'cms', POSTGRES_HOST_AUTH_METHOD: 'trust' }).withExposedPorts(5432).withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2)).start();
  // The demo issuer is a Node script of this repository: it runs beside the tests, not in a container.
  const oidcPort = 19080;
  const oidc = spawn(process.execPath, [resolve(import.meta.dirname, '../../packages/stack/src/oidc-issuer.ts')], { env: { ...process.env, OIDC_PORT: String(oidcPort) }, stdio: 'ignore' });
  const host = kafka.getHost();
  return {
    endpoints: {
      KAFKA_BROKERS: `${host}:19092`,
      SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      REDIS_URL: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      SMTP_URL: `smtp://${smtp.getHost()}:${smtp.getMappedPort(1025)}`,
      SMTP_API_URL: `http://${smtp.getHost()}:${smtp.getMappedPort(1080)}`,
      DATABASE_URL: `postgres://cms@${postgres.getHost()}:${postgres.getMappedPort(5432)}/cms`,
      OIDC_ISSUER_URL: `http://127.0.0.1:${oidcPort}`,
      source: 'testcontainers',
    },
    stop: async () => {
      oidc.kill('SIGTERM');
      await Promise.all([kafka.stop(), registry.stop(), redis.stop(), smtp.stop(), postgres.stop()]);
      await network.stop();
    },
  };
}
