import { expect, test } from '../fixtures';
import { collectPageErrors, goLive } from '../helpers/session';

// No ffmpeg: the server turns egress off and must say so; the /live page needs none of it.
test.use({ serverEnv: { FFMPEG_PATH: '/nonexistent/ffmpeg' } });

test('/live/<room> with a malformed code says it is not a room number', async ({ page }) => {
  await page.goto('/live/12a456');
  await expect(page.getByTestId('hls-invalid-room')).toBeVisible();
  await expect(page.getByTestId('hls-video')).toHaveCount(0);
});

test('/live/<room> waits for a mirror that is not there yet, with a way to the WebRTC page', async ({
  page,
}) => {
  const errors = collectPageErrors(page);
  const playlistRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/hls/987654/index.m3u8')) playlistRequests.push(request.url());
  });
  await page.goto('/live/987654');
  await expect(page.getByTestId('hls-video')).toBeVisible();
  await expect(page.getByTestId('hls-state')).toHaveAttribute('data-state', 'waiting');
  // It keeps asking (the mirror may be switched on any moment), with one reader id per tab.
  await expect.poll(() => playlistRequests.length, { timeout: 10_000 }).toBeGreaterThan(1);
  const sids = new Set(playlistRequests.map((url) => new URL(url).searchParams.get('sid')));
  expect(sids.size).toBe(1);
  expect([...sids][0]).toMatch(/^[A-Za-z0-9_-]{16}$/);
  await expect(page.getByTestId('hls-latency')).toHaveText('—');
  await expect(page.getByTestId('low-latency-link')).toHaveAttribute('href', '/watch/987654');
  expect(errors).toEqual([]);
});

test('the broadcast page says the mirror and restream are unavailable without ffmpeg', async ({
  page,
}) => {
  const errors = collectPageErrors(page);
  await goLive(page, { viaHome: false });
  // The server's reason follows the headline (the lead's server says "ffmpeg not found …").
  await expect(page.getByTestId('egress-unavailable')).toContainText(
    /HLS mirror and restream are unavailable: .*ffmpeg/,
  );
  const toggle = page.getByTestId('hls-mirror-toggle');
  await expect(toggle).toBeDisabled();
  await expect(toggle).not.toBeChecked();
  expect(errors).toEqual([]);
});
