import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where browser tests leave their screenshots, for a person to look at. */
export const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

/**
 * Debian's Chromium (installed by .ci/run and the stack's machines), headless, driven by playwright-core:
 * no browser download. The flags keep it off the network beyond loopback (this machine has none).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`browser tests need Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
}

/** Signs a new browser context in through the console's OIDC sign-in, as a person would: the issuer's form. */
export async function signIn(browser: Browser, consoleUrl: string, user: string, password = 'demo'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/`);
  await page.selectOption('#login', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${consoleUrl}/**`, { timeout: 60_000 });
  await page.waitForSelector('[data-testid=who]', { timeout: 60_000 });
  return { context, page };
}

export interface AxeViolation { readonly id: string; readonly impact: string | null; readonly help: string; readonly nodes: number }

/** axe-core in the page, WCAG 2.0-2.2 A and AA rules: the violations that are serious or critical. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: unknown[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
