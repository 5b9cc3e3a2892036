import type { Page } from '@playwright/test';
import { VIDEO_CODECS } from '../../shared/constants';
import { readRelayHeader, type RelayFrameHeader } from '../../shared/relay-frame';
import { trackPeerConnections } from '../helpers/coturn-fixture';
import { expect, test } from '../fixtures';
import {
  collectPageErrors,
  E2E_QUALITY,
  goLive,
  newIsolatedPage,
  type Viewer,
} from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

const relayViewers = 3;

interface SocketTraffic {
  /** Socket.IO event names the page received, with the time they arrived. */
  events: { name: string; at: number }[];
  /** Socket.IO event names the page sent. */
  sent: { name: string; at: number }[];
  /** Headers of the binary relay chunks the page received, in order, with arrival time. */
  relayChunks: (RelayFrameHeader & { at: number })[];
}

const maxRecorded = 2000;

/** The event name of a Socket.IO EVENT/BINARY_EVENT packet (`42["name",...]`, `451-["name",...]`). */
function eventName(packet: string): string | null {
  return /^4[25]\d*-?\d*\["([^"]+)"/.exec(packet)?.[1] ?? null;
}

/** Records what the page's Socket.IO WebSocket receives (the client uses the websocket transport only). */
function recordSocketTraffic(page: Page): SocketTraffic {
  const traffic: SocketTraffic = { events: [], sent: [], relayChunks: [] };
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      const name = typeof payload === 'string' ? eventName(payload) : null;
      if (name && traffic.sent.length < maxRecorded) traffic.sent.push({ name, at: Date.now() });
    });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string') {
        const name = eventName(payload);
        if (name && traffic.events.length < maxRecorded)
          traffic.events.push({ name, at: Date.now() });
        return;
      }
      const parsed = readRelayHeader(new Uint8Array(payload));
      if (parsed.ok && traffic.relayChunks.length < maxRecorded) {
        traffic.relayChunks.push({ ...parsed.header, at: Date.now() });
      }
    });
  });
  return traffic;
}

type RecordedViewer = Viewer & { traffic: SocketTraffic };

async function openRelayViewer(
  browser: Parameters<typeof newIsolatedPage>[0],
  baseURL: string,
  room: string,
): Promise<RecordedViewer> {
  const viewer = await newIsolatedPage(browser, baseURL);
  await trackPeerConnections(viewer.context);
  const traffic = recordSocketTraffic(viewer.page);
  await viewer.page.goto(`/watch/${room}?path=relay`);
  return { ...viewer, traffic };
}

/** How many RTCPeerConnections the page ever created (trackPeerConnections keeps ≤ 16). */
function peerConnectionCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __rcPeerConnections?: unknown[] }).__rcPeerConnections?.length ?? 0,
  );
}

async function expectRelayPlaying(page: Page): Promise<void> {
  await expectVideoPlaying(page, 'remote-video', { timeoutMs: 30_000 });
  await expect(page.getByTestId('connection-path')).toHaveAttribute('data-path', 'relay');
  await expect(page.getByTestId('negotiated-codec')).toHaveAttribute(
    'data-codec',
    new RegExp(`^(${VIDEO_CODECS.join('|')})$`),
  );
  await expect(page.getByTestId('connection-reason')).toContainText('?path=relay');
  expect(await peerConnectionCount(page), '?path=relay makes no peer connection').toBe(0);
}

test('three ?path=relay viewers play over the server relay, and a late one starts from the GOP cache', async ({
  page,
  browser,
  baseURL,
}, testInfo) => {
  test.setTimeout(150_000);
  const pageErrors = collectPageErrors(page);
  const broadcasterTraffic = recordSocketTraffic(page);
  const viewers: RecordedViewer[] = [];
  try {
    const room = await goLive(page, { viaHome: false });

    await test.step(`${relayViewers} relay viewers play with frames advancing`, async () => {
      for (let i = 0; i < relayViewers; i += 1) {
        const viewer = await openRelayViewer(browser, baseURL!, room);
        pageErrors.push(...collectPageErrors(viewer.page));
        viewers.push(viewer);
      }
      for (const viewer of viewers) await expectRelayPlaying(viewer.page);
    });

    await test.step('a late relay viewer joins the running relay and plays', async () => {
      const joinedAt = Date.now();
      const late = await openRelayViewer(browser, baseURL!, room);
      pageErrors.push(...collectPageErrors(late.page));
      viewers.push(late);
      // Time to first frame is a benchmark figure (bench:latency); here it is only recorded.
      await late.page.getByTestId('remote-video').evaluate(
        (video) =>
          new Promise<void>((resolve, reject) => {
            setTimeout(() => reject(new Error('no relay frame within 30 s')), 30_000);
            (video as HTMLVideoElement).requestVideoFrameCallback(() => resolve());
          }),
      );
      testInfo.annotations.push({
        type: 'late relay viewer: first frame after page load (ms)',
        description: String(Date.now() - joinedAt),
      });
      await expectRelayPlaying(late.page);

      // From the GOP cache: its first video chunk opens a GOP (a keyframe with the decoder
      // config), and the server did not have to ask the broadcaster for a keyframe to start it.
      // Without a cached keyframe the server asks at subscribe time, before any video arrives.
      const firstVideo = late.traffic.relayChunks.find((chunk) => chunk.track === 'video');
      expect(firstVideo, 'the late viewer received video chunks').toBeDefined();
      expect(firstVideo, 'its first video chunk opens a GOP').toMatchObject({
        keyframe: true,
        hasConfig: true,
      });
      // (The recorder does see the broadcaster's events: relay_demand started its encoder.)
      expect(broadcasterTraffic.events.map((e) => e.name)).toContain('relay_demand');
      const viewerAsked = viewers.flatMap((v) =>
        v.traffic.sent.filter((e) => e.name === 'keyframe_request').map((e) => e.at),
      );
      // A request some viewer's decoder made itself (after a drop) is not the server's.
      const serverInitiated = broadcasterTraffic.events.filter(
        (e) =>
          e.name === 'keyframe_requested' &&
          e.at >= joinedAt &&
          e.at <= firstVideo!.at &&
          !viewerAsked.some((at) => at <= e.at && e.at - at < 2000),
      );
      expect(
        serverInitiated.map((e) => `+${e.at - joinedAt} ms`),
        'no keyframe was requested to start the late viewer',
      ).toEqual([]);
      // The early viewers keep playing while the late one joins.
      for (const viewer of viewers.slice(0, relayViewers)) {
        await expectVideoPlaying(viewer.page, 'remote-video');
      }
    });

    await test.step("the broadcaster's viewers panel shows every viewer on the relay", async () => {
      const rows = page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(viewers.length, { timeout: 20_000 });
      await expect(rows.locator('[data-path="relay"]')).toHaveCount(viewers.length, {
        timeout: 20_000,
      });
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(viewers.map(({ context }) => context.close()));
  }
});

test('a ?path=relay broadcaster: a plain viewer goes straight to the relay and says the broadcaster chose it', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const pageErrors = collectPageErrors(page);
  await page.goto('/broadcast?path=relay');
  await page.getByTestId('source-camera').click();
  await page.getByTestId('quality-select').selectOption(E2E_QUALITY);
  await page.getByTestId('go-live').click();
  const roomCode = page.getByTestId('room-code');
  await expect(roomCode).toHaveText(/^\s*\d{6}\s*$/, { timeout: 20_000 });
  const room = (await roomCode.innerText()).trim();

  const viewer = await newIsolatedPage(browser, baseURL!);
  try {
    pageErrors.push(...collectPageErrors(viewer.page));
    await trackPeerConnections(viewer.context);
    const joinedAt = Date.now();
    await viewer.page.goto(`/watch/${room}`); // no ?path: the server puts it on the relay
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
    // Well inside the 8 s WebRTC media deadline: no waiting for a fallback.
    expect(Date.now() - joinedAt).toBeLessThan(8000);
    await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'relay');
    await expect(viewer.page.getByTestId('connection-reason')).toContainText(
      'The broadcaster chose to send only through the server relay',
    );
    expect(await peerConnectionCount(viewer.page), 'no WebRTC is tried').toBe(0);
    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await viewer.context.close();
  }
});
