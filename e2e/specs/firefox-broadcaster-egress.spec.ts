import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mergeTests } from '@playwright/test';
import { ffprobeStreams } from '../../test/support/ffprobe';
import { crossBrowserTest } from '../firefox/fixture';
import { pollUntil, type AppPage } from '../helpers/app-page';
import {
  expectCodec,
  expectPath,
  expectPlaying,
  expectReason,
  fakeSourceOf,
  goLiveFlow,
} from '../helpers/app-flows';
import { expect, test as serverTest } from '../fixtures';

/**
 * Everything behind the relay upstream, fed by a Firefox broadcaster (no
 * MediaStreamTrackProcessor; its relay encodes VP8): the HLS mirror (transcoded to H.264 by
 * ffmpeg) on /live in Firefox and Chromium, an RTMP restream into a real ffmpeg listener, the
 * recording, a viewer whose WebRTC never connects, and an overflow viewer.
 */
const test = mergeTests(serverTest, crossBrowserTest);

/** RTMP_TARGETS is server config, so the listener's port is fixed per worker. */
const rtmpPort = 19470 + Number(process.env.TEST_WORKER_INDEX ?? 0);
const hlsDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-ff-hls-'));
const recordDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-ff-rec-'));

test.use({
  serverEnv: {
    HLS_DIR: hlsDir,
    RECORD_DIR: recordDir,
    RTMP_TARGETS: JSON.stringify([
      { name: 'Local RTMP', url: `rtmp://127.0.0.1:${rtmpPort}/live/ff-e2e-key` },
    ]),
    MAX_MESH_VIEWERS: '1',
    MEDIA_TIMEOUT_MS: '4000',
  },
});

test.afterAll(() => {
  rmSync(hlsDir, { recursive: true, force: true });
  rmSync(recordDir, { recursive: true, force: true });
});

/** Every RTCPeerConnection gets no ICE servers and relay-only policy: no candidate at all. */
function noIceCandidates(): void {
  const Original = window.RTCPeerConnection;
  class Blocked extends Original {
    constructor(config?: RTCConfiguration) {
      super({ ...config, iceServers: [], iceTransportPolicy: 'relay' });
    }
  }
  window.RTCPeerConnection = Blocked;
}

async function setChecked(app: AppPage, testId: string, checked: boolean): Promise<void> {
  await pollUntil(
    () =>
      app.evaluate(
        (id) =>
          !(document.querySelector(`[data-testid="${id}"]`) as HTMLInputElement | null)?.disabled,
        testId,
      ),
    Boolean,
    { message: `${testId} enabled` },
  );
  const now = await app.evaluate(
    (id) => (document.querySelector(`[data-testid="${id}"]`) as HTMLInputElement).checked,
    testId,
  );
  if (now !== checked) await app.click(testId);
}

test('a Firefox broadcast feeds the HLS mirror (/live in Firefox), a restream and the recording', async ({
  openPage,
  baseURL,
}) => {
  test.setTimeout(180_000);
  const listenerDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-ff-rtmp-'));
  const flvFile = path.join(listenerDir, 'out.flv');
  const listener = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-listen',
      '1',
      '-i',
      `rtmp://127.0.0.1:${rtmpPort}/live/ff-e2e-key`,
      '-c',
      'copy',
      '-y',
      flvFile,
    ],
    { stdio: 'ignore' },
  );
  const listenerExited = new Promise<void>((resolve) => listener.on('exit', () => resolve()));
  try {
    const broadcaster = await openPage('firefox');
    const room = await goLiveFlow(broadcaster);

    await test.step('the mirror and a restream go live from the VP8 relay upstream', async () => {
      await setChecked(broadcaster, 'hls-mirror-toggle', true);
      await broadcaster.selectOption('restream-target', 'Local RTMP');
      await broadcaster.click('restream-toggle');
      for (const testId of ['hls-mirror-state', 'restream-state']) {
        await pollUntil(
          () => broadcaster.attribute(testId, 'data-state'),
          (state) => state === 'live',
          { timeoutMs: 40_000, message: `${testId} live` },
        );
      }
      // Firefox's H.264 encoder holds frames, so the relay sends VP8 and ffmpeg transcodes.
      expect(await broadcaster.attribute('relay-upstream', 'data-codec')).toBe('VP8');
      expect(await broadcaster.isVisible('egress-transcoding')).toBe(true);
      const playlist = `${baseURL}/hls/${room}/index.m3u8`;
      await pollUntil(
        async () =>
          (await fetch(playlist).then((r) => (r.ok ? r.text() : ''))).split('.ts').length - 1,
        (segments) => segments >= 2,
        { timeoutMs: 60_000, message: '2 HLS segments' },
      );
      expect((await ffprobeStreams(playlist)).codecs).toEqual(['aac', 'h264']);
    });

    await test.step('/live/<room> plays in Firefox with its latency shown', async () => {
      const live = await openPage('firefox', `/live/${room}`);
      await expectPlaying(live, { source: 'solid', testId: 'hls-video', timeoutMs: 60_000 });
      await pollUntil(
        () => live.text('hls-latency'),
        (text) => /\d+(\.\d)?\s*s/.test(text ?? ''),
        { message: 'HLS latency shown in Firefox' },
      );
      expect(live.errors).toEqual([]);
    });

    await test.step('the RTMP listener got H.264 + AAC', async () => {
      await broadcaster.click('restream-toggle');
      await Promise.race([listenerExited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      const flv = await ffprobeStreams(flvFile);
      expect(flv.codecs).toEqual(['aac', 'h264']);
      expect(flv.duration).toBeGreaterThanOrEqual(4);
    });

    await test.step('the recording holds the relay encode itself (VP8 + Opus)', async () => {
      await broadcaster.click('stop-broadcast');
      const file = await pollUntil(
        async () =>
          readdirSync(recordDir).find((name) => name.includes(room) && name.endsWith('.mkv')),
        (name) => name !== undefined,
        { timeoutMs: 20_000, message: `a recording of ${room}` },
      );
      const recording = await pollUntil(
        () => ffprobeStreams(path.join(recordDir, file!)),
        (probe) => probe.duration >= 5,
        { timeoutMs: 20_000, message: 'a finished recording' },
      );
      expect(recording.codecs).toEqual(['opus', 'vp8']);
    });
    expect(broadcaster.errors).toEqual([]);
  } finally {
    listener.kill('SIGKILL');
    rmSync(listenerDir, { recursive: true, force: true });
  }
});

test('a Firefox broadcaster: a viewer whose WebRTC cannot connect falls back to the relay, and an overflow viewer is put on the SFU', async ({
  openPage,
}) => {
  test.setTimeout(120_000);
  const broadcaster = await openPage('firefox');
  const room = await goLiveFlow(broadcaster);
  const source = fakeSourceOf(broadcaster);

  // It takes the only mesh seat (MAX_MESH_VIEWERS=1) and gives it back when it falls back.
  const blocked = await openPage('chromium', undefined, { initScript: { fn: noIceCandidates } });
  await blocked.goto(`/watch/${room}`);
  await expectReason(blocked, 'No WebRTC media after 4 s; using the server relay', 30_000);
  await expectPlaying(blocked, { source });
  await expectPath(blocked, 'relay');

  const direct = await openPage('firefox', `/watch/${room}`);
  await expectPlaying(direct, { source });
  await expectPath(direct, 'direct');

  // Overflow goes to the server's SFU first (issue 13): Firefox publishes its upstream copy in VP8.
  const overflow = await openPage('firefox', `/watch/${room}`);
  await expectPlaying(overflow, { source });
  await expectPath(overflow, 'sfu');
  await expectReason(overflow, "The broadcaster's mesh is full; using the server's WebRTC SFU");
  await expectCodec(overflow, (codec) => codec === 'VP8');

  for (const app of [broadcaster, blocked, direct, overflow]) expect(app.errors).toEqual([]);
});
