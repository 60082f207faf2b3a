import { describe, expect, it } from 'vitest';
import { installPlan, TOOLS } from './install.ts';

describe('installPlan: a fresh machine gets what the stack needs, or one line saying what to run', () => {
  const debianRoot = { root: true, apt: true, optOut: false };
  it('nothing missing: nothing to do', () => {
    expect(installPlan([], debianRoot)).toEqual({ action: 'none' });
  });
  it('root on Debian: installs the packages from apt, each once', () => {
    expect(installPlan([TOOLS.redis, TOOLS.maven, TOOLS.redis], debianRoot)).toEqual({ action: 'apt', packages: ['redis-server', 'maven'] });
  });
  it('not root: names the command and the exact sudo line', () => {
    const plan = installPlan([TOOLS.redis], { root: false, apt: true, optOut: false });
    expect(plan).toEqual({ action: 'explain', line: expect.stringContaining('run: sudo apt-get install -y redis-server') as unknown });
    expect(plan.action === 'explain' && plan.line).toMatch(/^missing redis-server \(Redis/);
  });
  it('opted out: says so, and the line has no sudo for root', () => {
    const plan = installPlan([TOOLS.java17], { root: true, apt: true, optOut: true });
    expect(plan.action === 'explain' && plan.line).toMatch(/CMS_STACK_NO_INSTALL is set.*run: apt-get install -y openjdk-17-jre-headless$/);
  });
  it('no apt: names the packages for another package manager', () => {
    const plan = installPlan([TOOLS.maven], { root: true, apt: false, optOut: false });
    expect(plan.action === 'explain' && plan.line).toMatch(/install maven with this system's package manager$/);
  });
});
