import type { TestProject } from 'vitest/node';
import { down, readStackSettings, status, up } from '@cms-router/stack';
import { containerRuntimeAnswers, startContainers } from './containers.ts';
import { endpointsFromEnv } from './endpoints.ts';

/**
 * Finds the real stack once for the whole integration run, in this order:
 * 1. services named by the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, SMTP_URL, SMTP_API_URL);
 * 2. testcontainers, when a container engine answers;
 * 3. the project's local stack (npm run stack), started here and stopped afterwards if we started it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const say = (line: string): void => {
    console.log(`[integration] ${line}`);
  };
  const fromEnv = endpointsFromEnv(process.env);
  if (fromEnv) {
    say('using the stack named by the environment');
    project.provide('endpoints', fromEnv);
    return () => Promise.resolve();
  }
  if (await containerRuntimeAnswers()) {
    say('container engine found: starting the stack with testcontainers');
    const { endpoints, stop } = await startContainers();
    project.provide('endpoints', endpoints);
    return stop;
  }
  const settings = readStackSettings();
  const wasUp = (await status(settings)).every((s) => s.ready);
  say(wasUp ? 'local stack already up: using it' : 'no container engine: starting the local stack (npm run stack -- up)');
  const { endpoints, ms } = await up(settings, say);
  if (!wasUp) say(`local stack ready in ${(ms / 1000).toFixed(1)} s`);
  project.provide('endpoints', { ...endpoints, source: 'local-stack' });
  return async () => {
    if (!wasUp && process.env['CMS_KEEP_STACK'] !== '1') await down(settings, say);
  };
}
