import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newIsolatedPage, newViewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

const hlsDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-watch-hls-'));

// No TURN server is configured, so `?path=turn` (relay-only ICE) is a viewer whose WebRTC
// cannot connect.
test.use({ serverEnv: { HLS_DIR: hlsDir, MEDIA_TIMEOUT_MS: '3000' } });

test.afterAll(() => rmSync(hlsDir, { recursive: true, force: true }));

async function mirrorOn(page: Page): Promise<void> {
  const toggle = page.getByTestId('hls-mirror-toggle');
  await expect(toggle).toBeEnabled({ timeout: 10_000 });
  await toggle.check();
  await expect(page.getByTestId('hls-mirror-state')).toHaveAttribute('data-state', 'live', {
    timeout: 30_000,
  });
}

test('a viewer switches the watch page to the HLS mirror and back to WebRTC', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const errors = collectPageErrors(page);
  const room = await goLive(page);
  const viewer = await newViewer(browser, baseURL ?? '', room);
  const viewerErrors = collectPageErrors(viewer.page);
  await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
  await expect(viewer.page.getByTestId('switch-to-hls')).toHaveCount(0);

  await mirrorOn(page);
  // The offer arrives with the next stats_summary.
  const switchToHls = viewer.page.getByTestId('switch-to-hls');
  await expect(switchToHls).toBeVisible({ timeout: 10_000 });
  await switchToHls.click();
  await expect(viewer.page.getByTestId('remote-video')).toHaveCount(0);
  await expectVideoPlaying(viewer.page, 'hls-video', { timeoutMs: 30_000 });
  const reason = viewer.page.getByTestId('connection-reason');
  await expect(reason).toHaveAttribute('data-path', 'hls');
  await expect(reason).toHaveAttribute('data-reason', 'reason.hlsChosen');
  await expect(viewer.page.getByTestId('hls-latency')).toHaveText(/^\d+\.\d s$/, {
    timeout: 15_000,
  });

  await viewer.page.getByTestId('leave-hls').click();
  await expect(viewer.page.getByTestId('hls-video')).toHaveCount(0);
  await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
  expect(errors).toEqual([]);
  expect(viewerErrors).toEqual([]);
  await viewer.context.close();
});

test('HLS is the last rung: WebRTC fails, the relay cannot decode here, the mirror plays by itself', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const room = await goLive(page);
  await mirrorOn(page);
  const viewer = await newIsolatedPage(browser, baseURL ?? '');
  // A browser without WebCodecs: the relay player cannot decode, hls.js (MSE) still plays.
  await viewer.page.addInitScript(() => {
    Reflect.deleteProperty(window, 'VideoDecoder');
    Reflect.deleteProperty(window, 'AudioDecoder');
  });
  const viewerErrors = collectPageErrors(viewer.page);
  await viewer.page.goto(`/watch/${room}?path=turn`);
  await expectVideoPlaying(viewer.page, 'hls-video', { timeoutMs: 40_000 });
  const reason = viewer.page.getByTestId('connection-reason');
  await expect(reason).toHaveAttribute('data-path', 'hls');
  await expect(reason).toHaveAttribute('data-reason', 'reason.hlsRelayUnplayable');
  await expect(reason).toContainText('using the HLS mirror');
  expect(viewerErrors).toEqual([]);
  await viewer.context.close();
});
