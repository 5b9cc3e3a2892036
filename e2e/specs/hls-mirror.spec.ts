import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import { ffprobeStreams } from '../../test/support/ffprobe';
import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newIsolatedPage } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

const run = promisify(execFile);

/** The RTMP listener's port is fixed per worker: RTMP_TARGETS is server config, set before start. */
const rtmpPort = 19350 + Number(process.env.TEST_WORKER_INDEX ?? 0);
const hlsDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-hls-'));

test.use({
  serverEnv: {
    HLS_DIR: hlsDir,
    RTMP_TARGETS: JSON.stringify([
      { name: 'Local RTMP', url: `rtmp://127.0.0.1:${rtmpPort}/live/e2e-stream-key` },
    ]),
  },
});

test.afterAll(() => rmSync(hlsDir, { recursive: true, force: true }));

async function playlist(page: Page, room: string): Promise<string | null> {
  const res = await page.request.get(`/hls/${room}/index.m3u8`);
  return res.ok() ? res.text() : null;
}

const segments = (text: string | null) => (text ?? '').split('\n').filter((l) => l.endsWith('.ts'));

async function mirrorOn(page: Page): Promise<void> {
  const toggle = page.getByTestId('hls-mirror-toggle');
  await expect(toggle).toBeEnabled({ timeout: 10_000 });
  await toggle.check();
  await expect(page.getByTestId('hls-mirror-state')).toContainText(/live/i, { timeout: 30_000 });
}

test('a broadcaster turns the mirror on and /live/<room> plays it with hls.js; stop writes ENDLIST', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const errors = collectPageErrors(page);
  const room = await goLive(page);
  await expect(page.getByTestId('hls-mirror-toggle')).not.toBeChecked();
  await mirrorOn(page);

  await expect
    .poll(async () => segments(await playlist(page, room)).length, { timeout: 20_000 })
    .toBeGreaterThanOrEqual(2);
  const url = `${baseURL}/hls/${room}/index.m3u8`;
  expect((await ffprobeStreams(url)).codecs).toEqual(['aac', 'h264']);

  const watcher = await newIsolatedPage(browser, baseURL ?? '');
  const watcherErrors = collectPageErrors(watcher.page);
  await watcher.page.goto(`/live/${room}`);
  await expectVideoPlaying(watcher.page, 'hls-video', { timeoutMs: 30_000 });
  // Live latency from PROGRAM-DATE-TIME is shown, in seconds.
  await expect(watcher.page.getByTestId('hls-latency')).toHaveText(/\d+(\.\d)?\s*s/, {
    timeout: 15_000,
  });
  // The HLS reader is counted on the broadcaster's side as path `hls`.
  await expect
    .poll(
      async () =>
        (await page.request.get('/api/streams').then((r) => r.json())) as {
          streams: { roomId: string; viewerCount: number }[];
        },
      { timeout: 15_000 },
    )
    .toMatchObject({ streams: [{ roomId: room, viewerCount: 1 }] });

  await page.getByTestId('stop-broadcast').click();
  await expect
    .poll(async () => (await playlist(page, room)) ?? '', { timeout: 15_000 })
    .toContain('#EXT-X-ENDLIST');
  expect(errors).toEqual([]);
  expect(watcherErrors).toEqual([]);
  await watcher.context.close();
});

test('a VP9-only encoder is transcoded by the server and still plays', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  // This browser's WebCodecs can only encode VP9, so the relay upstream can't offer H.264.
  await page.addInitScript(() => {
    const original = VideoEncoder.isConfigSupported.bind(VideoEncoder);
    VideoEncoder.isConfigSupported = async (config: VideoEncoderConfig) =>
      config.codec.startsWith('vp09') ? original(config) : { supported: false, config };
  });
  await goLive(page);
  const room = (await page.getByTestId('room-code').innerText()).trim();
  await mirrorOn(page);
  await expect(page.getByTestId('egress-transcoding')).toBeVisible({ timeout: 10_000 });
  await expect
    .poll(async () => segments(await playlist(page, room)).length, { timeout: 30_000 })
    .toBeGreaterThanOrEqual(2);
  expect((await ffprobeStreams(`${baseURL}/hls/${room}/index.m3u8`)).codecs).toEqual([
    'aac',
    'h264',
  ]);
  const watcher = await newIsolatedPage(browser, baseURL ?? '');
  await watcher.page.goto(`/live/${room}`);
  await expectVideoPlaying(watcher.page, 'hls-video', { timeoutMs: 30_000 });
  await watcher.context.close();
});

test('killing ffmpeg mid-stream: the playlist keeps growing', async ({ page }) => {
  test.setTimeout(90_000);
  const room = await goLive(page);
  await mirrorOn(page);
  await expect
    .poll(async () => segments(await playlist(page, room)).length, { timeout: 20_000 })
    .toBeGreaterThanOrEqual(2);
  const { stdout } = await run('pgrep', ['-f', `${hlsDir}/${room}/index.m3u8`]);
  const pid = Number(stdout.trim().split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  const before = segments(await playlist(page, room)).at(-1);
  await expect
    .poll(
      async () => {
        const text = await playlist(page, room);
        return text?.includes('#EXT-X-DISCONTINUITY') && segments(text).at(-1) !== before;
      },
      { timeout: 5000 },
    )
    .toBe(true);
});

test('restream lands H.264 + AAC in a real RTMP listener', async ({ page }) => {
  test.setTimeout(120_000);
  const outDir = mkdtempSync(path.join(tmpdir(), 'roomcast-e2e-rtmp-'));
  const outFile = path.join(outDir, 'out.flv');
  const listener = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-listen',
      '1',
      '-i',
      `rtmp://127.0.0.1:${rtmpPort}/live/e2e-stream-key`,
      '-c',
      'copy',
      '-y',
      outFile,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => listener.on('exit', () => resolve()));
  try {
    await goLive(page);
    const select = page.getByTestId('restream-target');
    await expect(select).toBeEnabled({ timeout: 10_000 });
    await select.selectOption({ label: 'Local RTMP' });
    await page.getByTestId('restream-toggle').click();
    await expect(page.getByTestId('restream-state')).toContainText(/live/i, { timeout: 30_000 });
    await page.waitForTimeout(7000);
    await page.getByTestId('restream-toggle').click();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    const probe = await ffprobeStreams(outFile);
    expect(probe.codecs).toEqual(['aac', 'h264']);
    expect(probe.duration).toBeGreaterThanOrEqual(5);
    // The stream key never reaches the page.
    expect(await page.content()).not.toContain('e2e-stream-key');
  } finally {
    listener.kill('SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
  }
});
