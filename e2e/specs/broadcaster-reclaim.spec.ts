import { expect, test } from '../fixtures';
import { goLive, newViewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

test('a broadcaster who reloads the tab reclaims the room and the viewer plays again', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const room = await goLive(page, { viaHome: false });
  const viewer = await newViewer(browser, baseURL!, room);
  try {
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
    await expect(page.getByTestId('viewer-count')).toHaveText('1');

    // The reload drops the broadcaster's socket; the room waits out its grace period for a reclaim.
    await page.reload();
    await expect(page.getByTestId('room-code')).toHaveText(room, { timeout: 20_000 });
    await expect(page.getByTestId('viewer-count')).toHaveText('1', { timeout: 20_000 });

    await expect(viewer.page).toHaveURL(new RegExp(`/watch/${room}$`));
    await expect(viewer.page.getByTestId('stream-ended')).toHaveCount(0);
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });

    await page.getByTestId('stop-broadcast').click();
    await expect(viewer.page.getByTestId('stream-ended')).toBeVisible();
  } finally {
    await viewer.context.close();
  }
});
