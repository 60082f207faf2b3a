import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { envSchema as consoleEnv } from '@cms-router/console/config';
import { envSchema as notifierEnv } from '@cms-router/notifier/config';
import { envSchema as routerEnv } from '@cms-router/router/config';
import { envSchema as srEventsEnv } from '@cms-router/sr-events/config';
import { METRICS, parseEnv } from '@cms-router/platform';

interface ComposeService {
  image?: string;
  restart?: string;
  command?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  build?: unknown;
  environment?: Record<string, string | number | boolean>;
}

const compose = parse(readFileSync(resolve(import.meta.dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

const SERVICES: Record<string, z.ZodObject> = { router: routerEnv, 'sr-events': srEventsEnv, notifier: notifierEnv, console: consoleEnv };

describe('docker-compose.yml', () => {
  it('has the same topology as the local stack: Kafka, a Confluent-compatible registry, Redis, an SMTP sink, PostgreSQL, an OIDC issuer, the four services, and Prometheus', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['console', 'kafka', 'notifier', 'oidc', 'postgres', 'prometheus', 'redis', 'registry', 'router', 'smtp', 'sr-events']);
  });

  it('Prometheus scrapes each service on the port its OPS_PORT names, and each service has a healthcheck on /readyz', () => {
    const scrape = readFileSync(resolve(import.meta.dirname, '../../ops/prometheus.yml'), 'utf8');
    for (const name of Object.keys(SERVICES)) {
      const service = compose.services[name] as { environment?: Record<string, string | number>; healthcheck?: { test?: string[] } } | undefined;
      const port = String(service?.environment?.['OPS_PORT'] ?? '');
      expect(port, `${name} has no OPS_PORT`).toMatch(/^\d+$/);
      expect(scrape).toContain(`${name}:${port}`);
      expect(service?.healthcheck?.test?.join(' ')).toContain(`localhost:${port}/readyz`);
    }
  });

  it.each(Object.entries(SERVICES))('%s: uses only variables its config schema knows, and they parse', (name, schema) => {
    const service = compose.services[name];
    expect(service?.command).toEqual(['node', `services/${name}/src/main.ts`]);
    const environment = Object.fromEntries(Object.entries(service?.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const known = Object.keys(schema.shape);
    const unknown = Object.keys(environment).filter((k) => !known.includes(k));
    expect(unknown, `variables ${unknown.join(', ')} are not in ${name}'s config schema`).toEqual([]);
    expect(() => parseEnv(schema, environment)).not.toThrow();
  });

  it('the Grafana dashboard reads only metrics the services publish', () => {
    const dashboard = readFileSync(resolve(import.meta.dirname, '../../ops/grafana-dashboard.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/\b(cms_[a-z_]+)/g)].map((m) => (m[1] ?? '').replace(/_bucket$/, '')));
    const known = new Set<string>(Object.values(METRICS));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((m) => !known.has(m))).toEqual([]);
  });

  it('runs Kafka in KRaft mode with replication factor 1 for the transaction and offsets topics', () => {
    const kafka = compose.services['kafka']?.environment ?? {};
    expect(kafka['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(kafka['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR']).toBe('1');
    expect(kafka['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']).toBe('1');
  });

  it('points the services at the registry through the Confluent-compatible API', () => {
    expect(compose.services['router']?.environment?.['SCHEMA_REGISTRY_URL']).toMatch(/\/apis\/ccompat\/v7$/);
  });

  it('keeps the registry durable (kafkasql, after Kafka is healthy), Kafka and Redis on volumes, Redis never evicting', () => {
    const registry = compose.services['registry'];
    expect(registry?.environment?.['APICURIO_STORAGE_KIND']).toBe('kafkasql');
    expect(registry?.environment?.['APICURIO_KAFKASQL_BOOTSTRAP_SERVERS']).toBe('kafka:9092');
    expect(registry?.depends_on?.['kafka']?.condition).toBe('service_healthy');
    expect(compose.services['kafka']?.volumes?.length).toBeGreaterThan(0);
    expect(compose.services['redis']?.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });

  it('restarts every container that stops (a service exits on a fatal error and comes back with its state)', () => {
    const without = Object.entries(compose.services).filter(([, s]) => s.restart !== 'unless-stopped').map(([name]) => name);
    expect(without).toEqual([]);
  });
});
