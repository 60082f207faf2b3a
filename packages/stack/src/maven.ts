import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CmsError } from '@cms-router/errors';
import { REPO_ROOT } from './settings.ts';
import { run, which } from './process.ts';

function requireMaven(): string {
  const mvn = which('mvn');
  if (!mvn) throw new CmsError('CMS_STACK_TOOL_MISSING', 'Maven (mvn) is needed to fetch Kafka and Apicurio Registry from Maven Central; apt-get install maven');
  return mvn;
}

function downloadFailure(what: string, output: string): CmsError {
  const line =
    output
      .split('\n')
      .map((l) => l.replace(/\u001b\[[0-9;]*m/g, '').trim())
      .find((l) => l.startsWith('[ERROR]') && l.length > 8) ?? output.trim().split('\n').pop() ?? '';
  return new CmsError('CMS_STACK_DOWNLOAD_FAILED', `could not fetch ${what} from Maven Central: ${line.slice(0, 300)}`);
}

/** True when every jar of a cached classpath file still exists (~/.m2 may have been cleaned). */
function classpathIntact(file: string): boolean {
  if (!existsSync(file)) return false;
  const entries = readFileSync(file, 'utf8').trim().split(':');
  return entries.length > 10 && entries.every((jar) => existsSync(jar));
}

/**
 * Resolves Kafka's jars (and the logging binding its tarball ships) through infra/kafka/pom.xml and
 * returns the classpath. First run downloads ~100 MB into ~/.m2; later runs are offline.
 */
export function kafkaClasspath(version: string, classpathFile: string, m2Repository: string, say: (line: string) => void): string {
  if (!classpathIntact(classpathFile)) {
    const mvn = requireMaven();
    mkdirSync(dirname(classpathFile), { recursive: true });
    say(`Fetching Apache Kafka ${version} jars from Maven Central into ~/.m2 (first run only, about 100 MB; there is no release tarball to download here)...`);
    const major = Number(version.split('.')[0]);
    const args = ['-B', '-q', `-Dmaven.repo.local=${m2Repository}`, '-f', join(REPO_ROOT, 'infra/kafka/pom.xml'), 'dependency:build-classpath', `-Dkafka.version=${version}`, `-Dmdep.outputFile=${classpathFile}`];
    if (major < 4) args.push('-Dkafka3');
    const result = run(mvn, args);
    if (result.status !== 0 || !classpathIntact(classpathFile)) throw downloadFailure(`Apache Kafka ${version}`, result.output);
  }
  return readFileSync(classpathFile, 'utf8').trim();
}

/** Fetches the Apicurio Registry app distribution (tar.gz, classifier "all") and returns its path in ~/.m2. */
export function apicurioArchive(version: string, m2Repository: string, say: (line: string) => void): string {
  const archive = join(m2Repository, 'io/apicurio/apicurio-registry-app', version, `apicurio-registry-app-${version}-all.tar.gz`);
  if (!existsSync(archive)) {
    const mvn = requireMaven();
    say(`Fetching Apicurio Registry ${version} from Maven Central into ~/.m2 (first run only, about 160 MB)...`);
    const result = run(mvn, ['-B', '-q', `-Dmaven.repo.local=${m2Repository}`, 'dependency:get', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, '-Dtransitive=false'], { cwd: REPO_ROOT });
    if (result.status !== 0 || !existsSync(archive)) throw downloadFailure(`Apicurio Registry ${version}`, result.output);
  }
  return archive;
}
