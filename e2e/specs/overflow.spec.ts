import { expect, test } from '../fixtures';
import { trackPeerConnections } from '../helpers/coturn-fixture';
import { collectPageErrors, goLive, newIsolatedPage, type Viewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

// The broadcaster's mesh holds one WebRTC viewer; with the SFU off (sfu-overflow.spec.ts has it
// on) the next one must be served by the relay.
test.use({ serverEnv: { MAX_MESH_VIEWERS: '1', MAX_SFU_VIEWERS: '0' } });

test('with MAX_MESH_VIEWERS=1 the second viewer is moved to the relay by the server', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const pageErrors = collectPageErrors(page);
  const viewers: Viewer[] = [];
  const open = async () => {
    const viewer = await newIsolatedPage(browser, baseURL!);
    await trackPeerConnections(viewer.context);
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

    await test.step('the second viewer lands on the relay, saying why', async () => {
      const viewer = await open();
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute(
        'data-path',
        'relay',
      );
      await expect(viewer.page.getByTestId('connection-reason')).toContainText(/mesh is full/i);
      // Overflow is decided at join: the broadcaster never offers this viewer a peer connection.
      const connected = await viewer.page.evaluate(
        () =>
          (
            (window as unknown as { __rcPeerConnections?: RTCPeerConnection[] })
              .__rcPeerConnections ?? []
          ).filter((pc) => pc.connectionState === 'connected').length,
      );
      expect(connected, 'no connected peer connection on the overflow viewer').toBe(0);
    });

    await test.step("the broadcaster's panel shows one direct and one relay viewer", async () => {
      const rows = page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(2, { timeout: 20_000 });
      await expect(rows.locator('[data-path="direct"]')).toHaveCount(1, { timeout: 20_000 });
      await expect(rows.locator('[data-path="relay"]')).toHaveCount(1, { timeout: 20_000 });
      await expect(
        rows.filter({ has: page.locator('[data-path="relay"]') }),
        'the relay row gives the reason',
      ).toContainText(/mesh is full/i);
    });

    await test.step('the first viewer keeps playing over direct WebRTC', async () => {
      await expectVideoPlaying(first.page, 'remote-video');
      await expect(first.page.getByTestId('connection-path')).toHaveAttribute(
        'data-path',
        'direct',
      );
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(viewers.map(({ context }) => context.close()));
  }
});
