/**
 * The browser for the dashboard tests: Debian's Chromium (apt-get install chromium) driven by
 * playwright-core; no downloaded browser builds. Missing Chromium skips the tests on a developer's
 * machine and fails them in CI (CI set), so a CI image without it cannot pass silently.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.ARIES_CHROMIUM_PATH ?? '/usr/bin/chromium';

export const INSTALL_HINT = 'apt-get install -y chromium';

export type ChromiumAvailability = 'available' | 'skip' | 'missing-in-ci';

export function chromiumAvailability(): ChromiumAvailability {
  if (existsSync(CHROMIUM_PATH)) return 'available';
  return process.env.CI === 'true' || process.env.CI === '1' ? 'missing-in-ci' : 'skip';
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
