import { expect, type Page } from '@playwright/test';

export interface VideoPlaybackSample {
  /** Frames presented during the sampling window (requestVideoFrameCallback). */
  presentedFrames: number;
  samplingMs: number;
  videoWidth: number;
  videoHeight: number;
  /** Standard deviation of luma over a downscaled frame: near 0 for a flat black or green frame. */
  lumaStdDev: number;
  /** Share of sampled pixels whose luma changed by more than a small threshold between two draws. */
  changedPixelRatio: number;
}

export interface ExpectVideoPlayingOptions {
  /** How long to keep retrying until the video proves it is playing. */
  timeoutMs?: number;
  minFrames?: number;
  minLumaStdDev?: number;
  minChangedPixelRatio?: number;
}

/**
 * Measures a <video> in the page: counts presented frames over ~1.5 s, then draws it into a
 * canvas twice ~500 ms apart to see that the picture has content and that it changes.
 */
export async function sampleVideo(page: Page, testId: string): Promise<VideoPlaybackSample> {
  return page.getByTestId(testId).evaluate(async (element) => {
    const video = element as HTMLVideoElement;
    const samplingMs = 1500;
    const sampleWidth = 160;
    const sampleHeight = 90;
    const changeThreshold = 12;

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

    const canvas = document.createElement('canvas');
    canvas.width = sampleWidth;
    canvas.height = sampleHeight;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2d canvas context');
    const drawLuma = (): Float32Array => {
      context.drawImage(video, 0, 0, sampleWidth, sampleHeight);
      const { data } = context.getImageData(0, 0, sampleWidth, sampleHeight);
      const luma = new Float32Array(sampleWidth * sampleHeight);
      for (let i = 0; i < luma.length; i += 1) {
        luma[i] = 0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!;
      }
      return luma;
    };

    const first = drawLuma();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = drawLuma();

    let sum = 0;
    for (const value of second) sum += value;
    const mean = sum / second.length;
    let squares = 0;
    let changed = 0;
    for (let i = 0; i < second.length; i += 1) {
      squares += (second[i]! - mean) ** 2;
      if (Math.abs(second[i]! - first[i]!) > changeThreshold) changed += 1;
    }

    return {
      presentedFrames,
      samplingMs,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      lumaStdDev: Math.sqrt(squares / second.length),
      changedPixelRatio: changed / second.length,
    };
  });
}

/**
 * Proves that the <video> with this test id plays: frames advance (≥ 10 presented in ~1.5 s)
 * and are not blank (the picture has contrast, and it differs between two draws 500 ms apart;
 * Chromium's fake camera draws a moving pattern and a frame counter). Retries until timeoutMs.
 */
export async function expectVideoPlaying(
  page: Page,
  testId: string,
  options: ExpectVideoPlayingOptions = {},
): Promise<VideoPlaybackSample> {
  const {
    timeoutMs = 20_000,
    minFrames = 10,
    minLumaStdDev = 5,
    minChangedPixelRatio = 0.002,
  } = options;
  const video = page.getByTestId(testId);
  await expect(video).toBeVisible({ timeout: timeoutMs });

  let lastSample: VideoPlaybackSample | null = null;
  await expect(async () => {
    lastSample = await sampleVideo(page, testId);
    const sample = lastSample;
    const label = `${testId} on ${page.url()}`;
    expect(sample.videoWidth, `${label}: has decoded video`).toBeGreaterThan(0);
    expect(sample.presentedFrames, `${label}: frames advance`).toBeGreaterThanOrEqual(minFrames);
    expect(sample.lumaStdDev, `${label}: picture is not blank`).toBeGreaterThan(minLumaStdDev);
    expect(sample.changedPixelRatio, `${label}: picture changes`).toBeGreaterThan(
      minChangedPixelRatio,
    );
  }).toPass({ timeout: timeoutMs, intervals: [250, 500, 1000] });
  return lastSample!;
}
