import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { collectPageErrors, E2E_QUALITY, newIsolatedPage } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

const BROADCAST_TOKEN = randomBytes(16).toString('hex');

test.use({ serverEnv: { BROADCAST_TOKEN } });

/**
 * Records every CSP violation the page reports (the `securitypolicyviolation` DOM event), so a
 * policy too strict for the app fails the test.
 */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return () =>
    page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

async function openBroadcastSetup(page: Page) {
  await page.goto('/broadcast');
  await page.getByTestId('source-camera').click();
  await page.getByTestId('quality-select').selectOption(E2E_QUALITY);
}

test('going live needs the broadcast token, which the page remembers', async ({ page }) => {
  const cspViolations = await watchCsp(page);
  await openBroadcastSetup(page);
  const tokenInput = page.getByTestId('broadcast-token-input');
  await expect(tokenInput).toBeVisible();

  await tokenInput.fill('not-the-token-at-all');
  await page.getByTestId('go-live').click();
  await expect(page.getByTestId('broadcast-error')).toBeVisible();
  await expect(page.getByTestId('room-code')).toHaveCount(0);

  await tokenInput.fill(BROADCAST_TOKEN);
  await page.getByTestId('go-live').click();
  await expect(page.getByTestId('room-code')).toHaveText(/^\s*\d{6}\s*$/, { timeout: 20_000 });
  await page.getByTestId('stop-broadcast').click();

  expect(await cspViolations()).toEqual([]);
  await page.reload();
  await expect(page.getByTestId('broadcast-token-input')).toHaveValue(BROADCAST_TOKEN);
  // The detector itself works: a foreign image is a violation.
  await page.evaluate(() => {
    const img = document.createElement('img');
    img.src = 'https://example.invalid/pixel.png';
    document.body.append(img);
  });
  await expect.poll(cspViolations).toEqual([expect.stringContaining('img-src')]);
});

test('a password room: the viewer sees "not found" until it types the password, then plays', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const pageErrors = collectPageErrors(page);
  const cspViolations = await watchCsp(page);
  await openBroadcastSetup(page);
  await page.getByTestId('broadcast-token-input').fill(BROADCAST_TOKEN);
  await page.getByTestId('room-password-input').fill('open sesame');
  await page.getByTestId('go-live').click();
  const roomCode = page.getByTestId('room-code');
  await expect(roomCode).toHaveText(/^\s*\d{6}\s*$/, { timeout: 20_000 });
  const room = (await roomCode.innerText()).trim();

  const viewer = await newIsolatedPage(browser, baseURL!);
  try {
    const viewerCsp = await watchCsp(viewer.page);
    await viewer.page.goto(`/watch/${room}`);
    pageErrors.push(...collectPageErrors(viewer.page));
    await expect(viewer.page.getByTestId('room-not-found')).toBeVisible();
    await viewer.page.getByTestId('watch-password-input').fill('wrong');
    await viewer.page.getByTestId('watch-password-join').click();
    await expect(viewer.page.getByTestId('room-not-found')).toBeVisible();
    await viewer.page.getByTestId('watch-password-input').fill('open sesame');
    await viewer.page.getByTestId('watch-password-join').click();
    // WebRTC over the same-origin socket ('self' in connect-src covers ws:) and the CSP.
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
    await expect(page.getByTestId('viewer-count')).toHaveText('1', { timeout: 20_000 });
    expect(await viewerCsp()).toEqual([]);
  } finally {
    await viewer.context.close();
  }
  expect(await cspViolations()).toEqual([]);
  expect(pageErrors).toEqual([]);
});
