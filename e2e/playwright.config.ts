import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { chromiumArgs } from './chromium-args';

/** Debian's Chromium; Playwright never downloads browsers here. */
const systemChromium = '/usr/bin/chromium';
const isCi = Boolean(process.env.CI);

export { chromiumArgs };

export default defineConfig({
  testDir: path.join(import.meta.dirname, 'specs'),
  globalSetup: path.join(import.meta.dirname, 'global-setup.ts'),
  outputDir: path.join(import.meta.dirname, '..', 'test-results'),
  // Two cores: one spec at a time; a broadcaster plus viewers already saturate the CPU.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  retries: isCi ? 1 : 0,
  forbidOnly: isCi,
  reporter: 'list',
  use: {
    headless: true,
    trace: 'on-first-retry',
    launchOptions: {
      executablePath: existsSync(systemChromium) ? systemChromium : undefined,
      args: chromiumArgs,
    },
  },
});
