import type { BrowserContext as PwContext, Page as PwPage } from '@playwright/test';
import type { BrowserContext as PpContext, Page as PpPage } from 'puppeteer-core';

/**
 * One roomcast page in any browser: Chromium through Playwright, Firefox through puppeteer-core.
 * Cross-browser specs (e2e/specs/firefox-*.spec.ts) and flows (app-flows.ts) talk to this, so a
 * mixed room (a Firefox broadcaster, Chromium and Firefox viewers) is one piece of code.
 * Elements are addressed by `data-testid`, as everywhere in the e2e suite.
 */
export type BrowserName = 'chromium' | 'firefox';

export interface AppPage {
  readonly browserName: BrowserName;
  /** Navigates to a path of the app (relative to the server) or a full URL. */
  goto(pathOrUrl: string): Promise<void>;
  url(): string;
  /** Waits for the element to be visible and enabled, then clicks it. */
  click(testId: string): Promise<void>;
  selectOption(testId: string, value: string): Promise<void>;
  fill(testId: string, value: string): Promise<void>;
  /** The element's text, or null when there is no such element. */
  text(testId: string): Promise<string | null>;
  /** An attribute of the element, or null when the element or attribute is missing. */
  attribute(testId: string, name: string): Promise<string | null>;
  isVisible(testId: string): Promise<boolean>;
  /** Runs a function in the page (it must not close over anything). */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  screenshot(file: string): Promise<void>;
  /** Uncaught page errors so far (bounded). */
  readonly errors: string[];
  /** The page's recent console lines (bounded), for failure reports. */
  consoleTail(): string;
  /** Closes the page and its isolated browser context. */
  close(): Promise<void>;
}

const maxErrors = 50;
const maxConsoleLines = 300;
const byTestId = (testId: string) => `[data-testid="${testId}"]`;

function remember(lines: string[], line: string, max: number): void {
  lines.push(line);
  if (lines.length > max) lines.shift();
}

/** Wraps a Playwright page (Chromium). `context` is closed with the page when given. */
export function playwrightAppPage(page: PwPage, baseURL: string, context?: PwContext): AppPage {
  const errors: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (error) => {
    if (errors.length < maxErrors) errors.push(`${page.url()}: ${error.message}`);
  });
  page.on('console', (msg) =>
    remember(consoleLines, `[${msg.type()}] ${msg.text()}`, maxConsoleLines),
  );
  const locate = (testId: string) => page.getByTestId(testId);
  return {
    browserName: 'chromium',
    errors,
    consoleTail: () => consoleLines.join('\n'),
    async goto(target) {
      await page.goto(new URL(target, baseURL).toString());
    },
    url: () => page.url(),
    click: (testId) => locate(testId).click(),
    async selectOption(testId, value) {
      await locate(testId).selectOption(value);
    },
    fill: (testId, value) => locate(testId).fill(value),
    async text(testId) {
      const element = locate(testId);
      return (await element.count()) > 0 ? element.first().innerText() : null;
    },
    async attribute(testId, name) {
      const element = locate(testId);
      return (await element.count()) > 0 ? element.first().getAttribute(name) : null;
    },
    isVisible: (testId) => locate(testId).first().isVisible(),
    evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) =>
      // Plain serializable arguments only, so the driver's handle unwrapping doesn't apply.
      page.evaluate(fn as (arg: unknown) => Promise<R>, arg as unknown),
    async screenshot(file) {
      await page.screenshot({ path: file });
    },
    async close() {
      if (context) await context.close();
      else await page.close();
    },
  };
}

/** Wraps a puppeteer-core page (Firefox over WebDriver BiDi) in its own user context. */
export function puppeteerAppPage(page: PpPage, baseURL: string, context?: PpContext): AppPage {
  const errors: string[] = [];
  const consoleLines: string[] = [];
  page.on('pageerror', (error) => {
    const message = error instanceof Error ? error.message : String(error);
    // Firefox logs its own ICE diagnostics as errors; a failing path is the ladder's business.
    if (message.startsWith('WebRTC: ICE failed')) return;
    if (errors.length < maxErrors) errors.push(`${page.url()}: ${message}`);
  });
  page.on('console', (msg) =>
    remember(consoleLines, `[${msg.type()}] ${msg.text()}`, maxConsoleLines),
  );
  const actionTimeout = 15_000;
  const locate = (testId: string) => page.locator(byTestId(testId)).setTimeout(actionTimeout);
  return {
    browserName: 'firefox',
    errors,
    consoleTail: () => consoleLines.join('\n'),
    async goto(target) {
      await page.goto(new URL(target, baseURL).toString(), { waitUntil: 'load' });
    },
    url: () => page.url(),
    click: (testId) => locate(testId).click(),
    async selectOption(testId, value) {
      await page.waitForSelector(byTestId(testId), { visible: true, timeout: actionTimeout });
      const selected = await page.select(byTestId(testId), value);
      if (!selected.includes(value)) throw new Error(`${testId} has no option ${value}`);
    },
    fill: (testId, value) => locate(testId).fill(value),
    text: (testId) =>
      page
        .$eval(byTestId(testId), (element) => (element as HTMLElement).innerText)
        .catch(() => null),
    attribute: (testId, name) =>
      page
        .$eval(byTestId(testId), (element, attr) => element.getAttribute(attr), name)
        .catch(() => null),
    isVisible: (testId) =>
      page
        .$eval(byTestId(testId), (element) => {
          const rect = element.getBoundingClientRect();
          return (
            rect.width > 0 && rect.height > 0 && getComputedStyle(element).visibility !== 'hidden'
          );
        })
        .catch(() => false),
    evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) =>
      page.evaluate(fn as (arg: unknown) => Promise<R>, arg as unknown) as Promise<R>,
    async screenshot(file) {
      await page.screenshot({ path: file as `${string}.png` });
    },
    async close() {
      if (context) await context.close().catch(() => undefined);
      else await page.close().catch(() => undefined);
    },
  };
}

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string;
}

/**
 * Calls `read` until `accept` returns true for its value; throws with the last value (and the
 * last error) after the timeout. The Playwright `expect.poll` equivalent for AppPage flows.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 250, message = 'condition' }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError ? `; last error: ${String(lastError)}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${message}; last value: ${JSON.stringify(last)}${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
