import cliProgress from 'cli-progress';
import type { Progress } from './what-if-sources.ts';

/**
 * A progress bar with rate and ETA on stderr (cli-progress), so stdout stays the command's output. It
 * draws only on a terminal: piped or in CI it prints nothing.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {percentage}% | {shown} | {rate} | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 200, fps: 5, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  let unit: 'bytes' | 'records' = 'records';
  let total = 0;
  let started = 0;
  const shown = (n: number): string => (unit === 'bytes' ? `${(n / 1_048_576).toFixed(1)}/${(total / 1_048_576).toFixed(1)} MiB` : `${n}/${total} records`);
  const rate = (n: number): string => {
    const seconds = (performance.now() - started) / 1_000;
    const perSecond = seconds > 0 ? n / seconds : 0;
    return unit === 'bytes' ? `${(perSecond / 1_048_576).toFixed(1)} MiB/s` : `${Math.round(perSecond)} records/s`;
  };
  let running = false;
  return {
    start(t, u) {
      if (!stream.isTTY) return;
      unit = u;
      total = t;
      started = performance.now();
      running = true;
      bar.start(Math.max(1, t), 0, { shown: shown(0), rate: rate(0) });
    },
    update(done) {
      if (running) bar.update(Math.min(done, Math.max(1, total)), { shown: shown(done), rate: rate(done) });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
