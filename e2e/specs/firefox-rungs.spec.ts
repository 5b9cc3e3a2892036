import { mergeTests } from '@playwright/test';
import { crossBrowserTest } from '../firefox/fixture';
import type { AppPage } from '../helpers/app-page';
import { pollUntil } from '../helpers/app-page';
import {
  audioLevel,
  expectCodec,
  expectPath,
  expectPlaying,
  expectReason,
  fakeSourceOf,
  goLiveFlow,
} from '../helpers/app-flows';
import { expect, test as coturnTest } from '../helpers/coturn-fixture';

/**
 * Firefox on every rung, in both roles, against the real server and a real coturn: direct,
 * TURN (UDP and TCP), the server relay (with audio), the connection check, and a mixed room.
 * One Firefox serves the whole file (it takes seconds to start); each page has its own user
 * context and window.
 */
const test = mergeTests(coturnTest, crossBrowserTest);

test.use({ serverEnv: { MEDIA_TIMEOUT_MS: '5000' } });

const WEBRTC_CODECS_IN_FIREFOX = ['AV1', 'VP9', 'VP8'];

/** Rows in the broadcaster's viewers panel, by path. */
function viewerPaths(broadcaster: AppPage): Promise<string[]> {
  return broadcaster.evaluate(() =>
    [...document.querySelectorAll('[data-testid="viewer-row"] [data-path]')].map(
      (el) => el.getAttribute('data-path') ?? '',
    ),
  );
}

/** Drops `transport=udp` TURN URLs from every RTCPeerConnection config: only TURN/TCP is known. */
function onlyTcpTurn(): void {
  const Original = window.RTCPeerConnection;
  class TcpTurnOnly extends Original {
    constructor(config?: RTCConfiguration) {
      const iceServers = (config?.iceServers ?? [])
        .map((server) => {
          const urls = (Array.isArray(server.urls) ? server.urls : [server.urls]).filter(
            (url) => !(url.startsWith('turn:') && url.includes('transport=udp')),
          );
          return { ...server, urls };
        })
        .filter((server) => server.urls.length > 0);
      super({ ...config, iceServers });
    }
  }
  window.RTCPeerConnection = TcpTurnOnly;
}

test('Firefox watches a Chromium broadcast on direct, TURN over TCP and the relay (with audio)', async ({
  openPage,
  coturn,
}) => {
  test.setTimeout(120_000);
  const broadcaster = await openPage('chromium');
  const room = await goLiveFlow(broadcaster);

  const direct = await openPage('firefox', `/watch/${room}`);
  const turn = await openPage('firefox', undefined, { initScript: { fn: onlyTcpTurn } });
  await turn.goto(`/watch/${room}?path=turn`);
  const relay = await openPage('firefox', `/watch/${room}?path=relay`);

  await test.step('direct: WebRTC from Chromium, decoded by Firefox', async () => {
    await expectPlaying(direct, { source: 'pattern' });
    await expectPath(direct, 'direct');
    await expectCodec(direct, (codec) => codec === 'AV1');
  });

  await test.step('TURN over TCP through the real coturn', async () => {
    await expectPlaying(turn, { source: 'pattern' });
    await expectPath(turn, 'turn');
    await expectReason(turn, 'Hiding your IP address; using TURN over TCP');
  });

  await test.step('the relay: WebCodecs decode, canvas + AudioContext output, with sound', async () => {
    await expectPlaying(relay, { source: 'pattern' });
    await expectPath(relay, 'relay');
    await expectReason(relay, '?path=relay');
    const level = await pollUntil(
      () => audioLevel(relay),
      (rms) => rms > 0.001,
      {
        timeoutMs: 15_000,
        message: 'relay audio in Firefox',
      },
    );
    expect(level).toBeGreaterThan(0.001);
  });

  await test.step('the broadcaster lists each Firefox viewer on its path', async () => {
    await pollUntil(
      () => viewerPaths(broadcaster),
      (paths) => ['direct', 'turn', 'relay'].every((p) => paths.includes(p)),
      { timeoutMs: 20_000, message: 'direct, turn and relay rows' },
    );
    expect(coturn.acceptedUsers().length, 'coturn granted an allocation').toBeGreaterThan(0);
  });

  for (const app of [broadcaster, direct, turn, relay]) expect(app.errors).toEqual([]);
});

test('a Firefox broadcaster: Chromium and Firefox viewers on direct, TURN and the relay (mixed room)', async ({
  openPage,
  coturn,
}) => {
  test.setTimeout(150_000);
  const broadcaster = await openPage('firefox');
  const room = await goLiveFlow(broadcaster);
  const source = fakeSourceOf(broadcaster);

  const chromiumDirect = await openPage('chromium', `/watch/${room}`);
  const firefoxDirect = await openPage('firefox', `/watch/${room}`);
  const chromiumTurn = await openPage('chromium', `/watch/${room}?path=turn`);
  const chromiumRelay = await openPage('chromium', `/watch/${room}?path=relay`);
  const firefoxRelay = await openPage('firefox', `/watch/${room}?path=relay`);

  await test.step('direct WebRTC from Firefox to Chromium and to Firefox', async () => {
    for (const viewer of [chromiumDirect, firefoxDirect]) {
      await expectPlaying(viewer, { source });
      await expectPath(viewer, 'direct');
      await expectCodec(viewer, (codec) => WEBRTC_CODECS_IN_FIREFOX.includes(codec));
    }
  });

  await test.step('TURN from a Firefox broadcaster (coturn allocation for the viewer)', async () => {
    await expectPlaying(chromiumTurn, { source });
    await expectPath(chromiumTurn, 'turn');
    await pollUntil(
      async () => coturn.acceptedUsers().length,
      (n) => n > 0,
      { message: 'a coturn allocation' },
    );
  });

  await test.step('the relay from a Firefox broadcaster (no MediaStreamTrackProcessor)', async () => {
    for (const viewer of [chromiumRelay, firefoxRelay]) {
      await expectPlaying(viewer, { source });
      await expectPath(viewer, 'relay');
      await expectCodec(viewer, (codec) => codec === 'VP8');
    }
    // Firefox's H.264 encoder holds ~40 frames, so the relay upstream skips it for VP8.
    expect(await broadcaster.attribute('relay-upstream', 'data-codec')).toBe('VP8');
    const level = await pollUntil(
      () => audioLevel(chromiumRelay),
      (rms) => rms > 0.001,
      {
        timeoutMs: 15_000,
        message: 'audio from the Firefox relay upstream in Chromium',
      },
    );
    expect(level).toBeGreaterThan(0.001);
  });

  await test.step("the Firefox broadcaster's panel shows every viewer's path", async () => {
    await pollUntil(
      () => viewerPaths(broadcaster),
      (paths) =>
        paths.filter((p) => p === 'direct').length === 2 &&
        paths.includes('turn') &&
        paths.filter((p) => p === 'relay').length === 2,
      { timeoutMs: 20_000, message: '2 direct, 1 turn and 2 relay rows' },
    );
  });

  for (const app of [
    broadcaster,
    chromiumDirect,
    firefoxDirect,
    chromiumTurn,
    chromiumRelay,
    firefoxRelay,
  ]) {
    expect(app.errors, `${app.browserName} page errors`).toEqual([]);
  }
});

/** The broadcaster's offers carry H.264 only (as from an encoder or ingest that has nothing else). */
function offerOnlyH264(): void {
  const original = RTCRtpTransceiver.prototype.setCodecPreferences;
  RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs) {
    const all = [...codecs];
    const kept = all.filter((codec) => /\/(H264|rtx|red|ulpfec|flexfec-03)$/i.test(codec.mimeType));
    const isVideo = all.some((codec) => codec.mimeType.startsWith('video/'));
    return original.call(this, isVideo ? kept : all);
  };
}

test('an H.264-only WebRTC offer: Firefox (no OpenH264) takes the relay by itself and says why', async ({
  openPage,
}) => {
  test.setTimeout(90_000);
  const broadcaster = await openPage('chromium', undefined, {
    initScript: { fn: offerOnlyH264 },
  });
  const room = await goLiveFlow(broadcaster, { codec: 'H264' });

  const chromium = await openPage('chromium', `/watch/${room}`);
  await expectPlaying(chromium, { source: 'pattern' });
  await expectPath(chromium, 'direct');
  await expectCodec(chromium, (codec) => codec === 'H264');

  const openedAt = Date.now();
  const firefox = await openPage('firefox', `/watch/${room}`);
  // Well before the 5 s media deadline, whose reason would read "No WebRTC media after 5 s".
  await expectReason(
    firefox,
    "This browser can't decode H264 over WebRTC; using the server relay, decoded with WebCodecs",
  );
  await expectPlaying(firefox, { source: 'pattern' });
  await expectPath(firefox, 'relay');
  await expectCodec(firefox, (codec) => codec === 'H264');
  expect(Date.now() - openedAt).toBeLessThan(30_000);
  await pollUntil(
    () => viewerPaths(broadcaster),
    (paths) => paths.includes('direct') && paths.includes('relay'),
    { message: "the Firefox viewer's relay row" },
  );
  for (const app of [broadcaster, chromium, firefox]) expect(app.errors).toEqual([]);
});

test('/check in Firefox: signalling, host candidates, TURN over UDP and TCP, a TURN loopback and the relay', async ({
  openPage,
}) => {
  test.setTimeout(60_000);
  const check = await openPage('firefox', '/check');
  await check.click('check-run');
  const summary = await pollUntil(
    () => check.attribute('check-summary', 'data-summary'),
    (value) => value !== null,
    { timeoutMs: 45_000, message: 'the check summary' },
  );
  const statuses = await check.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('[data-testid="check-result"]')].map((el) => [
        el.getAttribute('data-check'),
        el.getAttribute('data-status'),
      ]),
    ),
  );
  expect(statuses).toMatchObject({
    signalling: 'ok',
    host: 'ok',
    'turn-udp': 'ok',
    'turn-tcp': 'ok',
    loopback: 'ok',
    relay: 'ok',
  });
  expect(summary).toBeTruthy();
  expect(check.errors).toEqual([]);
});
