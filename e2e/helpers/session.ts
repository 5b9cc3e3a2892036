import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { QualityPreset, VideoCodecName } from '../../shared/constants';

/** The e2e default: the cheapest preset, because the machine has two cores for everything. */
export const E2E_QUALITY: QualityPreset = '480p30';

export interface GoLiveOptions {
  quality?: QualityPreset;
  /** `auto` keeps the default order; a codec name puts that codec first. */
  codec?: VideoCodecName | 'auto';
  /** Start from the home page's "Start broadcast" button instead of opening /broadcast directly. */
  viaHome?: boolean;
  /** Show the room in the home page's public list. */
  listed?: boolean;
  title?: string;
}

export interface Viewer {
  context: BrowserContext;
  page: Page;
}

/** Fails the test on uncaught page errors, which otherwise only show up as a missing picture. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => {
    if (errors.length < 50) errors.push(`${page.url()}: ${error.message}`);
  });
  return errors;
}

/**
 * Opens the broadcast page with the fake camera, picks quality and codec, goes live and
 * returns the six-digit room code shown on the page.
 */
export async function goLive(page: Page, options: GoLiveOptions = {}): Promise<string> {
  const { quality = E2E_QUALITY, codec, viaHome = true, listed, title } = options;
  if (viaHome) {
    await page.goto('/');
    await page.getByTestId('start-broadcast').click();
    await expect(page).toHaveURL(/\/broadcast/);
  } else {
    await page.goto('/broadcast');
  }

  const cameraSource = page.getByTestId('source-camera');
  await expect(cameraSource).toBeVisible();
  await cameraSource.click();
  await page.getByTestId('quality-select').selectOption(quality);
  if (codec !== undefined) {
    await page.getByTestId('codec-select').selectOption(codec);
  }
  if (listed !== undefined) await page.getByTestId('listed-toggle').setChecked(listed);
  if (title !== undefined) await page.getByTestId('title-input').fill(title);
  await page.getByTestId('go-live').click();

  const roomCode = page.getByTestId('room-code');
  await expect(roomCode).toHaveText(/^\s*\d{6}\s*$/, { timeout: 20_000 });
  return (await roomCode.innerText()).trim();
}

/** A page in a fresh browser context: its own cookies, storage, sockets and peer connections. */
export async function newIsolatedPage(browser: Browser, baseURL: string): Promise<Viewer> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  return { context, page };
}

/** A viewer in its own browser context on /watch/<room>. */
export async function newViewer(browser: Browser, baseURL: string, room: string): Promise<Viewer> {
  const viewer = await newIsolatedPage(browser, baseURL);
  await viewer.page.goto(`/watch/${room}`);
  return viewer;
}
