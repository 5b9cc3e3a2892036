import type { VideoCodecName } from '../../../../shared';
import { createLogger } from '../logger';
import { buildVideoEncoderConfig, codecNameFromCodecString } from './codec-selection';

const log = createLogger('relay-encoder-probe');

/**
 * Does this browser's encoder for a codec work in real time? `isConfigSupported` can't tell:
 * Firefox 153's H.264 WebCodecs encoder accepts `latencyMode: 'realtime'` and then holds about
 * 40 frames (1.3 s at 30 fps) before its first output, so a relay fed by it would lag by that
 * much and its in-flight back-pressure would starve it. An encoder that buffers by frame count
 * (lookahead) gives nothing for a few frames however long we wait; a real-time one emits each
 * frame soon after it goes in. So: encode a few small frames, then wait for any output.
 */

/** The part of VideoEncoder the probe uses (a fake in unit tests). */
export interface ProbeEncoder {
  encode(frame: VideoFrame, options?: VideoEncoderEncodeOptions): void;
  close(): void;
}

export interface ProbeFrames {
  make(index: number, timestampUs: number): VideoFrame;
}

export interface ProbeOptions {
  /** Frames fed before waiting (each `frameIntervalMs` apart). */
  frames: number;
  frameIntervalMs: number;
  /** After the last frame: how long to wait for the first output. */
  waitMs: number;
}

/** A busy machine can take a while for a real-time encoder's first output; a holding one never gives it. */
export const DEFAULT_PROBE: ProbeOptions = { frames: 4, frameIntervalMs: 33, waitMs: 2000 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Feeds `frames` frames to an encoder and resolves true as soon as it outputs anything, false if
 * nothing came out within `waitMs` of the last frame (or it failed).
 */
export async function encoderEmitsPromptly(
  open: (onOutput: () => void, onError: () => void) => ProbeEncoder,
  frames: ProbeFrames,
  options: ProbeOptions = DEFAULT_PROBE,
): Promise<boolean> {
  let settle: ((ok: boolean) => void) | null = null;
  const result = new Promise<boolean>((resolve) => (settle = resolve));
  let done = false;
  const finish = (ok: boolean) => {
    if (done) return;
    done = true;
    settle?.(ok);
  };
  let encoder: ProbeEncoder;
  try {
    encoder = open(
      () => finish(true),
      () => finish(false),
    );
  } catch {
    return false;
  }
  try {
    for (let i = 0; i < options.frames && !done; i++) {
      const frame = frames.make(i, Math.round((i * 1e6) / 30));
      try {
        encoder.encode(frame, { keyFrame: i === 0 });
      } finally {
        frame.close();
      }
      await Promise.race([result, sleep(options.frameIntervalMs)]);
    }
    await Promise.race([result, sleep(options.waitMs)]);
    finish(false);
    return await result;
  } catch {
    finish(false);
    return false;
  } finally {
    try {
      encoder.close();
    } catch {
      // already closed
    }
  }
}

const PROBE_WIDTH = 320;
const PROBE_HEIGHT = 180;

function grayFrames(): ProbeFrames {
  const bytes = new Uint8Array(PROBE_WIDTH * PROBE_HEIGHT * 4);
  return {
    make(index, timestamp) {
      // Different content per frame so no encoder can skip it as a duplicate.
      bytes.fill((index * 37) % 256);
      return new VideoFrame(bytes, {
        format: 'RGBA',
        codedWidth: PROBE_WIDTH,
        codedHeight: PROBE_HEIGHT,
        timestamp,
      });
    },
  };
}

async function probeCodec(name: VideoCodecName): Promise<boolean> {
  const config = buildVideoEncoderConfig(name, {
    width: PROBE_WIDTH,
    height: PROBE_HEIGHT,
    fps: 30,
    bitrateKbps: 300,
  });
  const supported = await VideoEncoder.isConfigSupported(config).then(
    (r) => r.supported === true,
    () => false,
  );
  if (!supported) return false;
  const prompt = await encoderEmitsPromptly((onOutput, onError) => {
    const encoder = new VideoEncoder({
      output: (chunk) => (void chunk, onOutput()),
      error: onError,
    });
    encoder.configure(config);
    return encoder;
  }, grayFrames());
  if (!prompt)
    log.info('encoder holds frames (not real time); the relay skips it', { codec: name });
  return prompt;
}

/** One probe per codec per page: the answer doesn't change. */
const probes = new Map<VideoCodecName, Promise<boolean>>();

/** True when this browser's WebCodecs encoder for `name` emits frames without holding them. */
export function isRealtimeEncoder(name: VideoCodecName): Promise<boolean> {
  if (typeof VideoEncoder === 'undefined') return Promise.resolve(false);
  let probe = probes.get(name);
  if (!probe) {
    probe = probeCodec(name).catch(() => false);
    probes.set(name, probe);
  }
  return probe;
}

/** The relay saw this codec's encoder hold frames in use: never pick it again on this page. */
export function markNotRealtime(name: VideoCodecName): void {
  probes.set(name, Promise.resolve(false));
}

/** Start the probes early (going live), so the first relay viewer doesn't wait for them. */
export function warmUpEncoderProbes(names: readonly VideoCodecName[]): void {
  for (const name of names) void isRealtimeEncoder(name);
}

/**
 * `isSupported` for selectVideoEncoderConfig: the browser accepts this exact config, and its
 * encoder for the codec works in real time.
 */
export async function isRealtimeConfigSupported(config: VideoEncoderConfig): Promise<boolean> {
  const name = codecNameFromCodecString(config.codec);
  if (!name) return false;
  const accepted = await VideoEncoder.isConfigSupported(config).then(
    (r) => r.supported === true,
    () => false,
  );
  return accepted && (await isRealtimeEncoder(name));
}
