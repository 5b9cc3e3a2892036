import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

/**
 * Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi (Playwright cannot drive a
 * stock Firefox). Each launch gets its own temporary profile, removed on close.
 */
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Prefs for a fake camera and microphone with no prompts, like Chromium's fake-media flags. */
export const FIREFOX_TEST_PREFS: Record<string, string | number | boolean> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  // There is no sound device here: a running AudioContext crashes the tab on the real cubeb
  // backend. The mock backend plays into nothing (Chromium's headless audio does the same).
  'media.cubeb.force_mock_context': true,
  // The test coturn listens and relays on 127.0.0.1 (its test config allows loopback peers);
  // Firefox ignores loopback candidates and TURN servers unless told otherwise.
  'media.peerconnection.ice.loopback': true,
  // Nothing outside this machine is reachable; don't let Firefox try.
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'media.gmp-manager.updateEnabled': false,
};

export function firefoxAvailable(): boolean {
  return existsSync(FIREFOX_PATH);
}

export interface LaunchedFirefox {
  browser: Browser;
  version: string;
  /** Closes the browser (killing it if it hangs) and removes its profile. */
  close(): Promise<void>;
}

const closeTimeoutMs = 10_000;

export async function launchFirefox(
  extraPrefs: Record<string, string | number | boolean> = {},
): Promise<LaunchedFirefox> {
  const profile = await mkdtemp(path.join(tmpdir(), 'roomcast-e2e-firefox-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...FIREFOX_TEST_PREFS, ...extraPrefs },
      defaultViewport: { width: 1280, height: 800 },
      protocolTimeout: 60_000,
      ...(process.env.E2E_FIREFOX_LOG ? { dumpio: true } : {}),
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const version = await browser.version();
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      const child = browser.process();
      const timer = setTimeout(() => child?.kill('SIGKILL'), closeTimeoutMs);
      try {
        await browser.close();
      } catch {
        child?.kill('SIGKILL');
      } finally {
        clearTimeout(timer);
      }
      await rm(profile, { recursive: true, force: true, maxRetries: 3 });
    })();
    return closing;
  };
  return { browser, version, close };
}
