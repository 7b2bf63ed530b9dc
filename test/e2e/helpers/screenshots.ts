/**
 * Screenshots of the main pages, kept by every run under test-results/screenshots (gitignored) for a
 * human to look at. With ARIES_DOCS_SCREENSHOT=1 the PGlite execution page also refreshes the README's
 * picture, docs/images/dashboard.png.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const DIR = join(ROOT, 'test-results/screenshots');

export async function screenshot(page: Page, backend: string, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const path = join(DIR, `${backend}-${name}.png`);
  // Let the charts' and tables' last poll settle so the picture is not of a half-rendered page.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.screenshot({ path, fullPage: options.fullPage ?? true, animations: 'disabled' });
  return path;
}

export function updateDocsScreenshot(path: string): void {
  if (process.env.ARIES_DOCS_SCREENSHOT !== '1') return;
  mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
  copyFileSync(path, join(ROOT, 'docs/images/dashboard.png'));
}
