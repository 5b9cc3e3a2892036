import { expect, test } from '../fixtures';
import { goLive, newViewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

test('choosing H264 before going live gives the viewer H264', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const room = await goLive(page, { codec: 'H264', viaHome: false });
  const viewer = await newViewer(browser, baseURL!, room);
  try {
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
    await expect(viewer.page.getByTestId('negotiated-codec')).toHaveAttribute('data-codec', 'H264');
    await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'direct');
    await page.getByTestId('stop-broadcast').click();
    await expect(viewer.page.getByTestId('stream-ended')).toBeVisible();
  } finally {
    await viewer.context.close();
  }
});
