import type { QualityPreset, VideoCodecName } from '../../shared/constants';
import { pollUntil, type AppPage } from './app-page';

/**
 * Browser-neutral e2e flows on an AppPage: go live, watch, and prove that video plays, on which
 * path and with which codec. Used by the Firefox and mixed-browser specs; the Chromium-only
 * specs keep their Playwright helpers (session.ts, video.ts).
 */

/** The e2e default: the cheapest preset (two cores run every browser). */
export const FLOW_QUALITY: QualityPreset = '480p30';

export interface GoLiveFlowOptions {
  quality?: QualityPreset;
  codec?: VideoCodecName | 'auto';
  /** Query string for /broadcast, e.g. `?path=turn`. */
  query?: string;
  title?: string;
}

/** Opens /broadcast with the fake camera, goes live and returns the room code. */
export async function goLiveFlow(app: AppPage, options: GoLiveFlowOptions = {}): Promise<string> {
  const { quality = FLOW_QUALITY, codec, query = '', title } = options;
  await app.goto(`/broadcast${query}`);
  await app.click('source-camera');
  await app.selectOption('quality-select', quality);
  if (codec !== undefined) await app.selectOption('codec-select', codec);
  if (title !== undefined) await app.fill('title-input', title);
  await app.click('go-live');
  const text = await pollUntil(
    () => app.text('room-code'),
    (value) => /^\s*\d{6}\s*$/.test(value ?? ''),
    { timeoutMs: 20_000, message: `a room code on ${app.browserName}'s broadcast page` },
  );
  return text!.trim();
}

/**
 * What the picture source looks like, so "it plays" can be checked honestly:
 * - `pattern`: Chromium's fake camera (a moving pattern and a frame counter);
 * - `solid`: Firefox's fake camera, one full-frame colour that drifts over time (red stays 0
 *   for long stretches), so every channel is compared, never luma alone.
 */
export type FakeSource = 'pattern' | 'solid';

export function fakeSourceOf(broadcaster: AppPage | 'chromium' | 'firefox'): FakeSource {
  const name = typeof broadcaster === 'string' ? broadcaster : broadcaster.browserName;
  return name === 'firefox' ? 'solid' : 'pattern';
}

export interface FrameSample {
  presentedFrames: number;
  samplingMs: number;
  videoWidth: number;
  videoHeight: number;
  /** Mean of each channel (R, G, B) in the first and the second draw. */
  firstMeans: number[];
  secondMeans: number[];
  /** Largest per-channel standard deviation in the second draw (0 for a flat frame). */
  maxChannelStdDev: number;
  /** Share of pixels where some channel changed by more than 12 between the draws. */
  changedPixelRatio: number;
  /** Largest change of a channel mean between the draws. */
  meanShift: number;
}

/**
 * Counts presented frames (requestVideoFrameCallback) for 1.5 s, then draws the video twice
 * `gapMs` apart and compares every channel.
 */
export function sampleFrames(app: AppPage, testId: string, gapMs = 700): Promise<FrameSample> {
  return app.evaluate(
    async ({ selector, gap }) => {
      const video = document.querySelector(selector) as HTMLVideoElement | null;
      if (!video) throw new Error(`no ${selector}`);
      const samplingMs = 1500;
      const presentedFrames = await new Promise<number>((resolve) => {
        let frames = 0;
        let done = false;
        const onFrame = () => {
          if (done) return;
          frames += 1;
          video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
        setTimeout(() => {
          done = true;
          resolve(frames);
        }, samplingMs);
      });
      const width = 160;
      const height = 90;
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      if (!context) throw new Error('no 2d canvas context');
      const draw = () => {
        context.drawImage(video, 0, 0, width, height);
        return context.getImageData(0, 0, width, height).data;
      };
      const first = draw();
      await new Promise((resolve) => setTimeout(resolve, gap));
      const second = draw();
      const pixels = width * height;
      const means = (data: Uint8ClampedArray) =>
        [0, 1, 2].map((c) => {
          let sum = 0;
          for (let i = 0; i < pixels; i += 1) sum += data[i * 4 + c]!;
          return sum / pixels;
        });
      const firstMeans = means(first);
      const secondMeans = means(second);
      let maxChannelStdDev = 0;
      for (let c = 0; c < 3; c += 1) {
        let squares = 0;
        for (let i = 0; i < pixels; i += 1) squares += (second[i * 4 + c]! - secondMeans[c]!) ** 2;
        maxChannelStdDev = Math.max(maxChannelStdDev, Math.sqrt(squares / pixels));
      }
      let changed = 0;
      for (let i = 0; i < pixels; i += 1) {
        for (let c = 0; c < 3; c += 1) {
          if (Math.abs(second[i * 4 + c]! - first[i * 4 + c]!) > 12) {
            changed += 1;
            break;
          }
        }
      }
      return {
        presentedFrames,
        samplingMs,
        videoWidth: video.videoWidth,
        videoHeight: video.videoHeight,
        firstMeans,
        secondMeans,
        maxChannelStdDev,
        changedPixelRatio: changed / pixels,
        meanShift: Math.max(...firstMeans.map((m, c) => Math.abs(secondMeans[c]! - m))),
      };
    },
    { selector: `[data-testid="${testId}"]`, gap: gapMs },
  );
}

/** Why a sample does not show a playing video from `source`; null when it does. */
export function notPlayingReason(sample: FrameSample, source: FakeSource): string | null {
  if (sample.videoWidth === 0) return 'no decoded video';
  if (sample.presentedFrames < 10) return `only ${sample.presentedFrames} frames in 1.5 s`;
  if (source === 'pattern') {
    if (sample.maxChannelStdDev <= 5) return 'the picture is blank';
    if (sample.changedPixelRatio <= 0.002) return 'the picture does not change';
    return null;
  }
  if (Math.max(...sample.secondMeans) < 16) return 'the picture is black';
  if (sample.meanShift < 0.5 && sample.changedPixelRatio <= 0.002) {
    return 'the colour does not change';
  }
  return null;
}

export interface PlayingOptions {
  source: FakeSource;
  testId?: string;
  timeoutMs?: number;
}

/** Proves the <video> plays the broadcast: frames advance and the picture changes. */
export async function expectPlaying(app: AppPage, options: PlayingOptions): Promise<FrameSample> {
  const { source, testId = 'remote-video', timeoutMs = 30_000 } = options;
  let reason: string | null = 'not sampled';
  return pollUntil(
    async () => {
      const sample = await sampleFrames(app, testId);
      reason = notPlayingReason(sample, source);
      return sample;
    },
    () => reason === null,
    {
      timeoutMs,
      intervalMs: 500,
      message: `${testId} playing (${source} source) in ${app.browserName} at ${app.url()}`,
    },
  );
}

/** Waits for the watch page's path (`data-path`: direct, turn, relay, hls). */
export function expectPath(app: AppPage, path: string, timeoutMs = 20_000): Promise<string | null> {
  return pollUntil(
    () => app.attribute('connection-path', 'data-path'),
    (value) => value === path,
    { timeoutMs, message: `path ${path} in ${app.browserName}` },
  );
}

/** Waits for the negotiated video codec shown by the watch page (`data-codec`). */
export function expectCodec(
  app: AppPage,
  accept: (codec: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  return pollUntil(
    async () => (await app.attribute('negotiated-codec', 'data-codec')) ?? '',
    (value) => value !== '' && accept(value),
    { timeoutMs, message: `an accepted codec in ${app.browserName}` },
  );
}

/** Waits until the watch page's reason contains `fragment`. */
export function expectReason(
  app: AppPage,
  fragment: string | RegExp,
  timeoutMs = 20_000,
): Promise<string | null> {
  return pollUntil(
    () => app.text('connection-reason'),
    (value) =>
      value !== null &&
      (typeof fragment === 'string' ? value.includes(fragment) : fragment.test(value)),
    { timeoutMs, message: `reason ${String(fragment)} in ${app.browserName}` },
  );
}

/** The audio of the watch page's <video>: a live track that carries sound (RMS above silence). */
export function audioLevel(app: AppPage, testId = 'remote-video'): Promise<number> {
  return app.evaluate(async (selector) => {
    const video = document.querySelector(selector) as HTMLVideoElement | null;
    const stream = video?.srcObject;
    if (!(stream instanceof MediaStream)) return -1;
    const track = stream.getAudioTracks().find((t) => t.readyState === 'live');
    if (!track) return -1;
    const context = new AudioContext();
    try {
      const source = context.createMediaStreamSource(new MediaStream([track]));
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      source.connect(analyser);
      await context.resume();
      const samples = new Float32Array(analyser.fftSize);
      let peak = 0;
      for (let i = 0; i < 10; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        peak = Math.max(peak, Math.sqrt(sum / samples.length));
      }
      return peak;
    } finally {
      await context.close();
    }
  }, `[data-testid="${testId}"]`);
}
