import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The delay before restarting a service that exited: short after a long healthy run, growing while it
 * keeps failing soon after start (a crash loop), capped. Pure.
 */
export function restartDelay(recentFailures: number, initialMs = 1_000, maxMs = 30_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, recentFailures - 1));
}

/** A run that lasted this long counts as healthy: the next failure starts the backoff again. */
const HEALTHY_RUN_MS = 60_000;

/**
 * Keeps one service running: starts it, and starts it again whenever it exits (a fatal consumer crash
 * exits non-zero on purpose, for a supervisor to restart it with its state restored), until this process
 * is told to stop; then it passes the signal on and waits for the service to finish. For the demo, where
 * no init system or container runtime watches the services. (A process manager such as pm2 would do
 * this too, with a daemon of its own beside the stack's pid files; this is the one thing we need.)
 */
export function supervise(command: string, args: readonly string[], opts: { readonly name: string; readonly say: (line: string) => void; readonly env?: NodeJS.ProcessEnv }): Promise<void> {
  let child: ChildProcess | undefined;
  let stopping = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve) => {
    const start = (): void => {
      const began = Date.now();
      const current = spawn(command, args, { env: opts.env ?? process.env, stdio: 'inherit' });
      child = current;
      current.once('exit', (code, signal) => {
        child = undefined;
        if (stopping) {
          resolve();
          return;
        }
        failures = Date.now() - began >= HEALTHY_RUN_MS ? 1 : failures + 1;
        const delay = restartDelay(failures);
        opts.say(`${opts.name} exited (${signal ?? `code ${String(code)}`}); restarting in ${delay} ms`);
        timer = setTimeout(start, delay);
      });
    };
    const stop = (signal: NodeJS.Signals): void => {
      stopping = true;
      if (timer) clearTimeout(timer);
      if (child) child.kill(signal);
      else resolve();
    };
    process.once('SIGTERM', () => { stop('SIGTERM'); });
    process.once('SIGINT', () => { stop('SIGINT'); });
    start();
  });
}
