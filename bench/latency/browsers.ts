/**
 * The Firefox part of bench:latency: glass-to-glass and first frame on `direct` and `relay`
 * with a Firefox viewer and with a Firefox broadcaster, beside Chromium in the same run.
 * Firefox is Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi (the e2e
 * launcher); the page scripts are the same clock canvas and read-back as for Chromium.
 */
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import type { Browser, Page } from 'playwright-core';
import { launchFirefox, type LaunchedFirefox } from '../../e2e/firefox/launch';
import { sleep } from '../common/run';
import { benchInitScript, readBenchState, type BenchViewerState } from './page-scripts';
import { summarize, type JoinResult, type LatencyStats } from './stats';

export type BenchBrowser = 'chromium' | 'firefox';
export type MatrixPath = 'direct' | 'relay';

export interface BrowserCell {
  broadcaster: BenchBrowser;
  viewer: BenchBrowser;
  path: MatrixPath;
  latency: LatencyStats;
  firstFrame: LatencyStats;
  joins: JoinResult[];
  /** The relay encoder the broadcaster picked (relay rows). */
  relayCodec?: string;
}

export interface BrowserMatrix {
  firefox: string;
  cells: BrowserCell[];
}

const FIRST_FRAME_TIMEOUT_MS = 30_000;

/** One roomcast page, in either browser, for the bench's few needs. */
export interface BenchPage {
  goto(path: string): Promise<void>;
  click(selector: string): Promise<void>;
  select(selector: string, value: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

function playwrightPage(page: Page, close: () => Promise<void>): BenchPage {
  return {
    goto: async (path) => void (await page.goto(path)),
    click: (selector) => page.click(selector),
    select: async (selector, value) => void (await page.selectOption(selector, value)),
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => never, arg as unknown),
    close,
  };
}

function puppeteerPage(page: FirefoxPage, baseURL: string, close: () => Promise<void>): BenchPage {
  return {
    goto: async (path) => void (await page.goto(new URL(path, baseURL).toString())),
    click: (selector) => page.locator(selector).setTimeout(20_000).click(),
    select: async (selector, value) => {
      await page.waitForSelector(selector, { timeout: 20_000 });
      await page.select(selector, value);
    },
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => never, arg as unknown),
    close,
  };
}

export interface BenchBrowsers {
  chromium: Browser;
  firefox: LaunchedFirefox;
  baseURL: string;
}

export function startFirefox(): Promise<LaunchedFirefox> {
  return launchFirefox();
}

export async function openPage(
  browsers: BenchBrowsers,
  browser: BenchBrowser,
  role: 'source' | 'viewer',
): Promise<BenchPage> {
  const script = benchInitScript(role);
  if (browser === 'chromium') {
    const context = await browsers.chromium.newContext({
      baseURL: browsers.baseURL,
      viewport: { width: 1280, height: 800 },
    });
    await context.addInitScript({ content: script });
    return playwrightPage(await context.newPage(), () => context.close());
  }
  const ff: FirefoxBrowser = browsers.firefox.browser;
  const context = await ff.createBrowserContext();
  const page = await context.newPage({ type: 'window' });
  await page.evaluateOnNewDocument(script);
  return puppeteerPage(page, browsers.baseURL, () => context.close());
}

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Goes live in `browser` with the clock canvas as the camera; returns the page and room. */
export async function goLiveIn(
  browsers: BenchBrowsers,
  browser: BenchBrowser,
  quality: string,
  codec: string,
): Promise<{ page: BenchPage; room: string }> {
  const page = await openPage(browsers, browser, 'source');
  await page.goto('/broadcast');
  await page.click('[data-testid="source-camera"]');
  await page.select('[data-testid="quality-select"]', quality);
  await page.select('[data-testid="codec-select"]', codec);
  await page.click('[data-testid="go-live"]');
  const room = await waitFor(
    () =>
      page.evaluate(
        () => document.querySelector('[data-testid="room-code"]')?.textContent?.trim() ?? '',
        undefined,
      ),
    (text) => /^\d{6}$/.test(text),
    20_000,
    'a room code',
  );
  return { page, room };
}

/** The broadcaster's relay encoder as its viewers panel shows it. */
export function relayCodecOf(page: BenchPage): Promise<string> {
  return page.evaluate(
    () =>
      document.querySelector('[data-testid="relay-upstream"]')?.getAttribute('data-codec') ?? '',
    null,
  );
}

/** One viewer join: home page, click a link to /watch/<room>[?path=relay], sample for `seconds`. */
export async function measureJoin(
  browsers: BenchBrowsers,
  viewer: BenchBrowser,
  room: string,
  path: MatrixPath,
  seconds: number,
): Promise<{ join: JoinResult; samples: number[] }> {
  const page = await openPage(browsers, viewer, 'viewer');
  try {
    await page.goto('/');
    await waitFor(
      () => page.evaluate(() => !!document.querySelector('[data-testid="join-room-input"]'), null),
      Boolean,
      20_000,
      'the home page',
    );
    const href = `/watch/${room}${path === 'direct' ? '' : '?path=relay'}`;
    await page.evaluate((target) => {
      const anchor = document.createElement('a');
      anchor.id = 'bench-join';
      anchor.href = target;
      anchor.textContent = 'join';
      anchor.addEventListener('click', () =>
        (window as unknown as { __benchMarkClick(): void }).__benchMarkClick(),
      );
      document.body.prepend(anchor);
    }, href);
    await page.click('#bench-join');
    await waitFor(
      () => page.evaluate(readBenchState, null),
      (state: BenchViewerState | null) => Boolean(state?.firstFrameAt),
      FIRST_FRAME_TIMEOUT_MS,
      'the first frame',
    );
    await sleep(seconds * 1000);
    const state = await page.evaluate(readBenchState, null);
    const info = await page.evaluate(
      () => ({
        path:
          document.querySelector('[data-testid="connection-path"]')?.getAttribute('data-path') ??
          '',
        codec:
          document.querySelector('[data-testid="negotiated-codec"]')?.getAttribute('data-codec') ??
          '',
        reason:
          document.querySelector('[data-testid="connection-reason"]')?.textContent?.trim() ?? '',
      }),
      null,
    );
    const firstFrameMs =
      state?.firstFrameAt && state.clickAt !== null ? state.firstFrameAt - state.clickAt : null;
    const join: JoinResult = {
      firstFrameMs,
      samples: state?.samples.length ?? 0,
      frames: state?.frames ?? 0,
      badReads: state?.badReads ?? 0,
      videoSize: state?.videoSize ?? '',
      observedPath: info.path,
      codec: info.codec,
      reason: info.reason,
      error:
        info.path === path ? null : `asked for ${path}, the page shows ${info.path || 'no path'}`,
    };
    return { join, samples: state?.samples ?? [] };
  } finally {
    await page.close();
  }
}

/** Measures `joins` viewers of one browser on one path of a room and summarizes them. */
export async function measureCell(
  browsers: BenchBrowsers,
  cell: Pick<BrowserCell, 'broadcaster' | 'viewer' | 'path'>,
  room: string,
  joins: number,
  seconds: number,
  log: (line: string) => void,
): Promise<BrowserCell> {
  const results: JoinResult[] = [];
  const samples: number[] = [];
  for (let i = 0; i < joins; i++) {
    const label = `[${cell.broadcaster}→${cell.viewer} ${cell.path} #${i + 1}]`;
    try {
      const measured = await measureJoin(browsers, cell.viewer, room, cell.path, seconds);
      results.push(measured.join);
      if (!measured.join.error) samples.push(...measured.samples);
      const s = summarize(measured.samples);
      log(
        `${label}${measured.join.error ? ` NOT COUNTED (${measured.join.error})` : ''} first frame ` +
          `${measured.join.firstFrameMs?.toFixed(0) ?? '–'} ms; p50 ${s.p50.toFixed(1)} p95 ` +
          `${s.p95.toFixed(1)} ms over ${s.count} frames; codec ${measured.join.codec || '?'}, ` +
          `${measured.join.videoSize}`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      results.push({
        firstFrameMs: null,
        samples: 0,
        frames: 0,
        badReads: 0,
        videoSize: '',
        observedPath: '',
        codec: '',
        reason: '',
        error: message,
      });
      log(`${label} FAILED: ${message}`);
    }
  }
  const firstFrames = results
    .filter((j) => !j.error)
    .map((j) => j.firstFrameMs)
    .filter((v): v is number => v !== null);
  return {
    ...cell,
    latency: summarize(samples),
    firstFrame: summarize(firstFrames),
    joins: results,
  };
}
