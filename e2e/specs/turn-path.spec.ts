import {
  acceptedAllocations,
  expect,
  selectedPairs,
  test,
  trackPeerConnections,
} from '../helpers/coturn-fixture';
import { collectPageErrors, goLive, newIsolatedPage } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

/** The server's default TURN_TTL_S: usernames expire this far ahead. */
const turnTtlS = 3600;

test('a ?path=turn viewer plays through the real coturn with its own TURN REST credentials', async ({
  page,
  browser,
  baseURL,
  coturn,
}) => {
  test.setTimeout(90_000);
  const pageErrors = collectPageErrors(page);
  const room = await goLive(page, { viaHome: false });
  const viewer = await newIsolatedPage(browser, baseURL!);
  pageErrors.push(...collectPageErrors(viewer.page));
  try {
    await trackPeerConnections(viewer.context);
    await viewer.page.goto(`/watch/${room}?path=turn`);

    await test.step('the viewer plays, and says it is on TURN', async () => {
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'turn');
    });

    await test.step("the browser's selected candidate pair is a coturn relay candidate", async () => {
      const pairs = await selectedPairs(viewer.page);
      const relayed = pairs.filter((p) => p.localType === 'relay' && p.bytesReceived > 0);
      expect(relayed, JSON.stringify(pairs)).toHaveLength(1);
      expect(relayed[0]!.localAddress, 'relay address is the test coturn').toBe('127.0.0.1');
      // iceTransportPolicy 'relay': no pair may use a host or srflx candidate.
      expect(pairs.filter((p) => p.localType !== null && p.localType !== 'relay')).toEqual([]);
    });

    const viewerId = await test.step('the broadcaster lists the viewer on TURN', async () => {
      const row = page.getByTestId('viewer-row');
      await expect(row).toHaveCount(1, { timeout: 20_000 });
      await expect(row.locator('[data-path="turn"]')).toHaveCount(1);
      const id = await row.getAttribute('data-viewer-id');
      expect(id).toBeTruthy();
      return id!;
    });

    await test.step('coturn accepted an allocation for <expiry>:<viewer clientId>', async () => {
      await expect
        .poll(() => acceptedAllocations(coturn, viewerId).length, {
          message: `coturn log has no accepted ALLOCATE for ${viewerId}`,
        })
        .toBeGreaterThan(0);
      const expiry = Number(/user <(\d+):/.exec(acceptedAllocations(coturn, viewerId)[0]!)![1]);
      const nowS = Date.now() / 1000;
      expect(expiry, 'username expiry lies in the future').toBeGreaterThan(nowS);
      expect(expiry, 'username expiry is at most TURN_TTL_S ahead').toBeLessThanOrEqual(
        nowS + turnTtlS + 5,
      );
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await viewer.context.close();
  }
});
