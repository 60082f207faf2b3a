import { execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { endpoints, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('the demo’s supervisor', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await testPlatform('supervise');
    await p.createTopics(ROUTER_TOPICS);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('starts the router again after it is killed, and stops it (and itself) on SIGTERM', { timeout: 300_000 }, async () => {
    const e = endpoints();
    const supervisor = spawn(process.execPath, [resolve(REPO, 'scripts/supervise.ts'), 'router'], {
      env: { ...process.env, KAFKA_BROKERS: e.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: e.SCHEMA_REGISTRY_URL, REDIS_URL: e.REDIS_URL, KAFKA_TOPIC_NAMESPACE: p.namespace, ROUTER_GROUP_ID: uniqueName('sup'), REDIS_KEY_PREFIX: uniqueName('sup'), LOG_LEVEL: 'info', KAFKA_SESSION_TIMEOUT_MS: '6000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    supervisor.stdout.on('data', (d: Buffer) => (output += d.toString()));
    supervisor.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => supervisor.once('exit', (code) => { r(code); }));
    const starts = (): number => output.split('"msg":"router started"').length - 1;
    try {
      await waitFor(() => starts() >= 1, 'the router to start under the supervisor', 180_000, 200);
      const [first] = childrenOf(supervisor.pid ?? 0);
      expect(first).toBeGreaterThan(0);
      process.kill(first ?? 0, 'SIGKILL');
      await waitFor(() => starts() >= 2, 'the supervisor to start the router again', 180_000, 200);
      expect(output).toMatch(/router exited \(SIGKILL\); restarting in \d+ ms/);
      const [second] = childrenOf(supervisor.pid ?? 0);
      expect(second).not.toBe(first);

      supervisor.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(() => process.kill(second ?? 0, 0), 'the router stopped with its supervisor').toThrow();
      expect(output).toContain('"msg":"shutting down"');
      expect(output.split('restarting in').length - 1, 'a stop is not a crash').toBe(1);
    } finally {
      if (supervisor.exitCode === null) supervisor.kill('SIGKILL');
    }
  });
});
