import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CmsError } from '@cms-router/errors';
import { ensureTools, TOOLS } from './install.ts';
import { REPO_ROOT } from './settings.ts';
import { run, which } from './process.ts';

function requireMaven(say: (line: string) => void): string {
  ensureTools([TOOLS.maven], say);
  return which('mvn') ?? 'mvn';
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
 * returns the classpath. Downloads ~100 MB into the Maven repository when the jars are not there yet.
 */
export function kafkaClasspath(version: string, classpathFile: string, m2Repository: string, say: (line: string) => void, opts: { readonly tools?: boolean } = {}): string {
  if (!classpathIntact(classpathFile)) {
    const mvn = requireMaven(say);
    mkdirSync(dirname(classpathFile), { recursive: true });
    // The jars may be in the Maven repository already (another stack dir, an earlier run): say where, not "first run".
    const cached = existsSync(join(m2Repository, 'org/apache/kafka/kafka_2.13', version));
    say(cached ? `Resolving Apache Kafka ${version} jars from ${m2Repository} (cached; no download)...` : `Fetching Apache Kafka ${version} jars from Maven Central into ${m2Repository} (about 100 MB; there is no release tarball to download here)...`);
    const major = Number(version.split('.')[0]);
    const args = ['-B', '-q', `-Dmaven.repo.local=${m2Repository}`, '-f', join(REPO_ROOT, 'infra/kafka/pom.xml'), 'dependency:build-classpath', `-Dkafka.version=${version}`, `-Dmdep.outputFile=${classpathFile}`];
    if (major < 4) args.push('-Dkafka3');
    if (opts.tools) args.push('-Dkafka.tools');
    const result = run(mvn, args);
    if (result.status !== 0 || !classpathIntact(classpathFile)) throw downloadFailure(`Apache Kafka ${version}`, result.output);
  }
  return readFileSync(classpathFile, 'utf8').trim();
}

/** Fetches the Apicurio Registry app distribution (tar.gz, classifier "all") and returns its path in the Maven repository. */
export function apicurioArchive(version: string, m2Repository: string, say: (line: string) => void): string {
  const archive = join(m2Repository, 'io/apicurio/apicurio-registry-app', version, `apicurio-registry-app-${version}-all.tar.gz`);
  if (!existsSync(archive)) {
    const mvn = requireMaven(say);
    say(`Fetching Apicurio Registry ${version} from Maven Central into ${m2Repository} (about 160 MB)...`);
    const result = run(mvn, ['-B', '-q', `-Dmaven.repo.local=${m2Repository}`, 'dependency:get', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, '-Dtransitive=false'], { cwd: REPO_ROOT });
    if (result.status !== 0 || !existsSync(archive)) throw downloadFailure(`Apicurio Registry ${version}`, result.output);
  }
  return archive;
}
