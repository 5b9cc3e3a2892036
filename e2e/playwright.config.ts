import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from '@playwright/test';

/** Debian's Chromium; Playwright never downloads browsers here. */
const systemChromium = '/usr/bin/chromium';
const isCi = Boolean(process.env.CI);

/** Flags verified on this machine kind: fake camera/mic with auto-accepted permission prompts. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Background tabs must keep rendering video: every viewer is checked while others are open.
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--autoplay-policy=no-user-gesture-required',
];

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
