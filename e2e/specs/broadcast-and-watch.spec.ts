import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newViewer, type Viewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

const viewerCount = 3;

test('a broadcaster and three viewers: watch, leave, switch quality, chat, stop', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(240_000);
  const pageErrors = collectPageErrors(page);
  const viewers: Viewer[] = [];

  try {
    const room = await test.step('broadcaster goes live at 480p30', async () => {
      const code = await goLive(page);
      await expectVideoPlaying(page, 'local-video');
      return code;
    });

    await test.step(`${viewerCount} viewers join in separate contexts`, async () => {
      for (let i = 0; i < viewerCount; i += 1) {
        const viewer = await newViewer(browser, baseURL!, room);
        pageErrors.push(...collectPageErrors(viewer.page));
        viewers.push(viewer);
      }
      await expect(page.getByTestId('viewer-count')).toHaveText(String(viewerCount), {
        timeout: 20_000,
      });
    });

    await test.step('every viewer plays advancing, non-blank frames over direct AV1', async () => {
      for (const { page: viewerPage } of viewers) {
        await expectVideoPlaying(viewerPage, 'remote-video', { timeoutMs: 30_000 });
        await expect(viewerPage.getByTestId('negotiated-codec')).toHaveAttribute(
          'data-codec',
          'AV1',
        );
        await expect(viewerPage.getByTestId('connection-path')).toHaveAttribute(
          'data-path',
          'direct',
        );
      }
    });

    await test.step('the broadcaster viewers panel shows each viewer on direct AV1', async () => {
      const rows = page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(viewerCount);
      for (let i = 0; i < viewerCount; i += 1) {
        await expect(rows.nth(i)).toContainText('AV1');
        await expect(rows.nth(i).locator('[data-path="direct"]')).toHaveCount(1);
      }
    });

    await test.step('the viewer count drops to 2 when one viewer closes its page', async () => {
      const leaving = viewers.pop()!;
      await leaving.page.close();
      await expect(page.getByTestId('viewer-count')).toHaveText(String(viewerCount - 1), {
        timeout: 20_000,
      });
      await leaving.context.close();
    });

    await test.step('a quality switch while live keeps every viewer playing', async () => {
      await page.getByTestId('quality-select').selectOption('720p30');
      // The capture itself follows the preset (the fake camera offers 1280×720).
      await expect
        .poll(() =>
          page
            .getByTestId('local-video')
            .evaluate((video) => (video as HTMLVideoElement).videoHeight),
        )
        .toBe(720);
      await expect(page.getByTestId('room-code')).toHaveText(room);
      await expectVideoPlaying(page, 'local-video');
      for (const { page: viewerPage } of viewers) {
        await expect(viewerPage).toHaveURL(new RegExp(`/watch/${room}$`));
        await expectVideoPlaying(viewerPage, 'remote-video', { timeoutMs: 30_000 });
      }
      await expect(page.getByTestId('viewer-count')).toHaveText(String(viewers.length));
    });

    await test.step('chat from a viewer reaches the broadcaster and the other viewer', async () => {
      const [sender, receiver] = viewers as [Viewer, Viewer];
      const text = `hello from viewer ${Date.now()}`;
      await sender.page.getByTestId('chat-input').fill(text);
      await sender.page.getByTestId('chat-send').click();
      for (const chatPage of [sender.page, page, receiver.page]) {
        await expect(chatPage.getByTestId('chat-message').filter({ hasText: text })).toHaveCount(1);
      }
    });

    await test.step('Stop shows "stream ended" to every viewer', async () => {
      page.on('dialog', (dialog) => void dialog.accept());
      await page.getByTestId('stop-broadcast').click();
      for (const { page: viewerPage } of viewers) {
        await expect(viewerPage.getByTestId('stream-ended')).toBeVisible({ timeout: 15_000 });
      }
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(viewers.map(({ context }) => context.close()));
  }
});
