import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newIsolatedPage, type Viewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

// The mesh holds one WebRTC viewer; the next one goes to the server's SFU, before the relay.
test.use({ serverEnv: { MAX_MESH_VIEWERS: '1' } });

test('with MAX_MESH_VIEWERS=1 the second viewer lands on the SFU, not the WebSocket relay', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const pageErrors = collectPageErrors(page);
  const viewers: Viewer[] = [];
  const open = async () => {
    const viewer = await newIsolatedPage(browser, baseURL!);
    pageErrors.push(...collectPageErrors(viewer.page));
    viewers.push(viewer);
    // No ?path= flag: the server decides.
    await viewer.page.goto(`/watch/${room}`);
    return viewer;
  };
  const room = await goLive(page, { viaHome: false });
  try {
    const first =
      await test.step('the first viewer fills the mesh over direct WebRTC', async () => {
        const viewer = await open();
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
        await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute(
          'data-path',
          'direct',
        );
        return viewer;
      });

    await test.step('the second viewer lands on the SFU, saying why', async () => {
      const viewer = await open();
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 40_000 });
      await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'sfu');
      await expect(viewer.page.getByTestId('connection-reason')).toContainText(/mesh is full/i);
      await expect(viewer.page.getByTestId('connection-reason')).toContainText(/SFU/);
    });

    await test.step("the broadcaster's panel shows one direct and one SFU viewer, none on the relay", async () => {
      const rows = page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(2, { timeout: 20_000 });
      await expect(rows.locator('[data-path="direct"]')).toHaveCount(1, { timeout: 20_000 });
      await expect(rows.locator('[data-path="sfu"]')).toHaveCount(1, { timeout: 20_000 });
      await expect(page.getByTestId('path-counts')).toHaveAttribute('data-relay', '0');
      await expect(page.getByTestId('relay-upstream')).toHaveAttribute('data-running', 'false');
      await expect(page.getByTestId('sfu-upstream')).toHaveAttribute('data-state', 'live');
    });

    await test.step('the first viewer keeps playing over direct WebRTC', async () => {
      await expectVideoPlaying(first.page, 'remote-video');
    });
    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(viewers.map(({ context }) => context.close()));
  }
});
