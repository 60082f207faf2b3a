import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CmsError } from '@cms-router/errors';
import { run, which } from './process.ts';

/** Major version of a `java` binary, from `java -version` ("17.0.15", "25.0.3", "1.8.0_402"). */
export function javaMajor(javaBin: string): number | undefined {
  const { status, output } = run(javaBin, ['-version']);
  if (status !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

function candidates(preferredHome: string | undefined): string[] {
  const found: string[] = [];
  if (preferredHome) found.push(join(preferredHome, 'bin', 'java'));
  const onPath = which('java');
  if (onPath) found.push(onPath);
  const jvmDir = '/usr/lib/jvm';
  if (existsSync(jvmDir)) {
    for (const entry of readdirSync(jvmDir)) {
      const bin = join(jvmDir, entry, 'bin', 'java');
      if (existsSync(bin)) found.push(bin);
    }
  }
  return [...new Set(found)];
}

/**
 * Finds a java binary of at least `minMajor`. An explicit home wins when it qualifies; otherwise the
 * newest JDK found (PATH, then /usr/lib/jvm). Kafka runs on 17+, Apicurio Registry 3.3 needs 21+.
 */
export function findJava(minMajor: number, preferredHome: string | undefined, purpose: string): { bin: string; major: number } {
  let best: { bin: string; major: number } | undefined;
  for (const bin of candidates(preferredHome)) {
    const major = javaMajor(bin);
    if (major === undefined || major < minMajor) continue;
    if (preferredHome && bin.startsWith(preferredHome)) return { bin, major };
    if (!best || major > best.major) best = { bin, major };
  }
  if (!best) {
    throw new CmsError(
      'CMS_STACK_JAVA_MISSING',
      `${purpose} needs Java ${minMajor} or newer and none was found on PATH or under /usr/lib/jvm; install one or set ${minMajor >= 21 ? 'APICURIO_JAVA_HOME' : 'JAVA_HOME'}`,
    );
  }
  return best;
}
