import { CmsError } from '@cms-router/errors';
import { run, which } from './process.ts';

/** A command the stack runs and the Debian package that provides it. */
export interface Tool {
  readonly command: string;
  readonly aptPackage: string;
  readonly purpose: string;
}

export const TOOLS = {
  redis: { command: 'redis-server', aptPackage: 'redis-server', purpose: 'Redis (the services’ state cache)' },
  maven: { command: 'mvn', aptPackage: 'maven', purpose: 'Maven (fetches Kafka and Apicurio Registry from Maven Central)' },
  java17: { command: 'java', aptPackage: 'openjdk-17-jre-headless', purpose: 'Java 17+ (Kafka)' },
  postgres: { command: 'initdb', aptPackage: 'postgresql', purpose: 'PostgreSQL (the console’s database)' },
} as const satisfies Record<string, Tool>;

export type InstallPlan = { readonly action: 'none' } | { readonly action: 'apt'; readonly packages: readonly string[] } | { readonly action: 'explain'; readonly line: string };

/**
 * What to do about missing tools. On a machine of this project's kind (Debian, root) the stack installs
 * them from apt itself, so `npm install && npm run demo` works on a fresh machine; anywhere else it says,
 * in one line, exactly what to run. CMS_STACK_NO_INSTALL=1 forbids installing (a shared machine).
 */
export function installPlan(missing: readonly Tool[], machine: { readonly root: boolean; readonly apt: boolean; readonly optOut: boolean }): InstallPlan {
  if (missing.length === 0) return { action: 'none' };
  const packages = [...new Set(missing.map((t) => t.aptPackage))];
  if (machine.root && machine.apt && !machine.optOut) return { action: 'apt', packages };
  const what = missing.map((t) => `${t.command} (${t.purpose})`).join(', ');
  const command = machine.apt ? `${machine.root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}` : `install ${packages.join(', ')} with this system's package manager`;
  const why = machine.optOut ? ' (CMS_STACK_NO_INSTALL is set, so the stack does not install it itself)' : '';
  return { action: 'explain', line: `missing ${what}${why}; run: ${command}` };
}

let aptUpdated = false;

/**
 * Makes sure every tool is present (on PATH unless `present` says otherwise, e.g. a Java that is too old),
 * installing from apt when allowed; throws one actionable line otherwise.
 */
export function ensureTools(tools: readonly Tool[], say: (line: string) => void, present: (t: Tool) => boolean = (t) => which(t.command) !== undefined): void {
  const missing = tools.filter((t) => !present(t));
  const plan = installPlan(missing, { root: process.getuid?.() === 0, apt: which('apt-get') !== undefined, optOut: process.env.CMS_STACK_NO_INSTALL === '1' });
  if (plan.action === 'none') return;
  if (plan.action === 'explain') throw new CmsError('CMS_STACK_TOOL_MISSING', plan.line);
  say(`installing ${plan.packages.join(', ')} from apt (missing on this machine; set CMS_STACK_NO_INSTALL=1 to forbid)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    const update = run('apt-get', ['update', '-qq'], { env });
    if (update.status !== 0) throw new CmsError('CMS_STACK_TOOL_MISSING', `apt-get update failed: ${lastLine(update.output)}`);
    aptUpdated = true;
  }
  const install = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...plan.packages], { env });
  const still = tools.filter((t) => !present(t));
  if (install.status !== 0 || still.length > 0) {
    throw new CmsError('CMS_STACK_TOOL_MISSING', `apt-get install ${plan.packages.join(' ')} failed: ${lastLine(install.output)}`);
  }
}

function lastLine(output: string): string {
  return output.trim().split('\n').slice(-2).join(' | ').slice(0, 300);
}
