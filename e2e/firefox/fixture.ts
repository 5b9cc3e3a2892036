import { test as base } from '@playwright/test';
import {
  playwrightAppPage,
  puppeteerAppPage,
  type AppPage,
  type BrowserName,
} from '../helpers/app-page';
import { firefoxAvailable, FIREFOX_PATH, launchFirefox, type LaunchedFirefox } from './launch';

/**
 * Cross-browser pages for Playwright specs. Merge it with a server fixture:
 *
 *   const test = mergeTests(serverTest, crossBrowserTest);       // e2e/fixtures.ts
 *   const test = mergeTests(coturnTest, crossBrowserTest);       // with a real coturn
 *   test('…', async ({ openPage }) => {
 *     const broadcaster = await openPage('firefox');
 *     const viewer = await openPage('chromium', `/watch/${room}`);
 *   });
 *
 * One Firefox runs per Playwright worker (started on first use: it takes seconds), and every
 * page gets its own user context (cookies, storage, sockets) in its own window, so each page is
 * visible and renders like a foreground tab. Pages are closed after each test; on failure their
 * console tails and screenshots are attached to the report.
 */

export interface OpenPageOptions {
  /** Runs in the page before its own scripts, on every navigation. */
  initScript?: { fn: (arg: unknown) => void; arg?: unknown };
}

export type OpenPage = (
  browser: BrowserName,
  path?: string,
  options?: OpenPageOptions,
) => Promise<AppPage>;

export interface CrossBrowserTestFixtures {
  openPage: OpenPage;
}

export interface CrossBrowserWorkerFixtures {
  /** This worker's Firefox, launched on first use. */
  firefox: () => Promise<LaunchedFirefox>;
}

const firefoxLaunchTimeoutMs = 60_000;

export const crossBrowserTest = base.extend<CrossBrowserTestFixtures, CrossBrowserWorkerFixtures>({
  firefox: [
    // Playwright needs the destructuring pattern even without dependencies.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      let launched: Promise<LaunchedFirefox> | null = null;
      await use(() => {
        if (!firefoxAvailable()) {
          throw new Error(
            `Firefox is not installed at ${FIREFOX_PATH} (apt-get install firefox-esr)`,
          );
        }
        launched ??= launchFirefox();
        return launched;
      });
      if (launched) await (await (launched as Promise<LaunchedFirefox>)).close();
    },
    { scope: 'worker', timeout: firefoxLaunchTimeoutMs },
  ],
  openPage: async ({ browser, firefox, baseURL }, use, testInfo) => {
    const opened: AppPage[] = [];
    const origin = baseURL ?? '';
    await use(async (browserName, path, options = {}) => {
      let app: AppPage;
      if (browserName === 'firefox') {
        const { browser: ff } = await firefox();
        const context = await ff.createBrowserContext();
        const page = await context.newPage({ type: 'window' });
        if (options.initScript) {
          await page.evaluateOnNewDocument(options.initScript.fn, options.initScript.arg);
        }
        app = puppeteerAppPage(page, origin, context);
      } else {
        const context = await browser.newContext({ baseURL: origin });
        if (options.initScript) {
          await context.addInitScript(options.initScript.fn, options.initScript.arg);
        }
        app = playwrightAppPage(await context.newPage(), origin, context);
      }
      opened.push(app);
      if (path !== undefined) await app.goto(path);
      return app;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const [index, app] of opened.entries()) {
      if (failed) {
        const name = `${index}-${app.browserName}`;
        await testInfo.attach(`${name}-console`, {
          body: `${app.url()}\n${app.errors.join('\n')}\n${app.consoleTail()}`,
          contentType: 'text/plain',
        });
        const file = testInfo.outputPath(`${name}.png`);
        await app
          .screenshot(file)
          .then(() => testInfo.attach(`${name}-screenshot`, { path: file }))
          .catch(() => undefined);
      }
      await app.close();
    }
  },
});

export { expect } from '@playwright/test';
