import { createTrackProcessor, hasTrackProcessor } from './media-streams';
import { createLogger } from '../logger';

const log = createLogger('relay-source');

/** Reads raw frames from a track and hands each to `onFrame`, which takes ownership. */
export interface FrameSource {
  readonly kind: 'processor' | 'canvas' | 'worklet';
  close(): void;
}

export type FrameSourceMode = 'auto' | 'processor' | 'fallback';

function readLoop<T extends VideoFrame | AudioData>(
  reader: ReadableStreamDefaultReader<T>,
  onFrame: (frame: T) => void,
  isClosed: () => boolean,
): void {
  const pump = async (): Promise<void> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (isClosed()) {
        value.close();
        return;
      }
      onFrame(value);
    }
  };
  pump().catch((err: unknown) => {
    if (!isClosed()) log.warn('track reader stopped', err);
  });
}

function processorSource<T extends VideoFrame | AudioData>(
  track: MediaStreamTrack,
  onFrame: (frame: T) => void,
): FrameSource {
  // A small browser-side buffer: if we fall behind, the oldest raw frames are dropped there.
  const processor = createTrackProcessor<T>(track, track.kind === 'video' ? 2 : 10);
  const reader = processor.readable.getReader();
  let closed = false;
  readLoop(reader, onFrame, () => closed);
  return {
    kind: 'processor',
    close() {
      closed = true;
      reader.cancel().catch(() => undefined);
    },
  };
}

/**
 * Fallback for browsers without MediaStreamTrackProcessor (Firefox): play the track in a hidden
 * <video> and wrap its current picture in a VideoFrame (`new VideoFrame(video)` takes it without
 * a copy; where that throws, it is drawn onto a canvas first).
 *
 * While the page is visible, requestVideoFrameCallback says when each new frame is presented.
 * A hidden tab (the broadcaster switched tabs, or shares another one) paints nothing, so
 * those callbacks stop; a Worker's timer is not throttled there, so a ticker at the track's
 * frame rate takes the frames instead whenever the callbacks have gone quiet.
 */
const TICKER_SOURCE = `
let timer = null;
onmessage = (event) => {
  clearInterval(timer);
  timer = event.data > 0 ? setInterval(() => postMessage(0), event.data) : null;
};
`;

/** Calls `onTick` every `intervalMs`, also in a hidden tab (Worker timers aren't throttled). */
function startTicker(intervalMs: number, onTick: () => void): { stop(): void } {
  try {
    const url = URL.createObjectURL(new Blob([TICKER_SOURCE], { type: 'text/javascript' }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    worker.onmessage = onTick;
    worker.postMessage(intervalMs);
    return { stop: () => worker.terminate() };
  } catch (err) {
    // No workers (CSP, old browser): the page's own timer, throttled when hidden.
    log.warn('ticker worker unavailable; hidden-tab capture will be slow', err);
    const timer = setInterval(onTick, intervalMs);
    return { stop: () => clearInterval(timer) };
  }
}

function videoElementSource(
  track: MediaStreamTrack,
  onFrame: (frame: VideoFrame) => void,
): FrameSource {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  let canvas: OffscreenCanvas | HTMLCanvasElement | null = null;
  let ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;
  let direct = true;
  let closed = false;
  let handle = 0;
  const fps = Math.min(60, Math.max(1, track.getSettings().frameRate ?? 30));
  const intervalMs = 1000 / fps;
  let lastCallbackMs = -Infinity;
  const viaCanvas = (width: number, height: number, timestamp: number): VideoFrame | null => {
    if (!canvas) {
      canvas =
        typeof OffscreenCanvas === 'function'
          ? new OffscreenCanvas(width, height)
          : Object.assign(document.createElement('canvas'), { width, height });
      ctx = canvas.getContext('2d') as typeof ctx;
    }
    if (!ctx) return null;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    ctx.drawImage(video, 0, 0, width, height);
    return new VideoFrame(canvas, { timestamp });
  };
  const grab = (width: number, height: number, timestamp: number): void => {
    let frame: VideoFrame | null = null;
    if (direct) {
      try {
        frame = new VideoFrame(video, { timestamp });
      } catch (err) {
        direct = false;
        log.info('VideoFrame from <video> refused; drawing through a canvas', err);
      }
    }
    try {
      frame ??= viaCanvas(width, height, timestamp);
    } catch (err) {
      log.debug('frame capture failed', err);
      return;
    }
    if (frame) onFrame(frame);
  };
  const onVideoFrame = (now: number, meta: VideoFrameCallbackMetadata): void => {
    if (closed) return;
    handle = video.requestVideoFrameCallback(onVideoFrame);
    lastCallbackMs = now;
    if (meta.width === 0 || meta.height === 0) return;
    // Firefox gives no captureTime; the presentation time is on the same performance.now clock.
    grab(
      meta.width,
      meta.height,
      Math.round((meta.captureTime ?? meta.expectedDisplayTime) * 1000),
    );
  };
  const ticker = startTicker(intervalMs, () => {
    const now = performance.now();
    if (closed || now - lastCallbackMs < intervalMs * 2) return;
    if (video.videoWidth === 0 || video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) return;
    grab(video.videoWidth, video.videoHeight, Math.round(now * 1000));
  });
  handle = video.requestVideoFrameCallback(onVideoFrame);
  video.play().catch((err: unknown) => log.warn('fallback source video did not play', err));
  return {
    kind: 'canvas',
    close() {
      closed = true;
      ticker.stop();
      video.cancelVideoFrameCallback(handle);
      video.pause();
      video.srcObject = null;
    },
  };
}

/** About 10 ms of audio per message (and per AudioData), instead of one per 128 samples. */
const AUDIO_BLOCK_MS = 10;

/**
 * Copies the input into blocks of `blockFrames` and posts each with the context's sample index
 * of its first frame (`currentFrame`), so timestamps count samples on the context's own clock
 * (the upstream's ClockRebaser maps them onto performance.now).
 */
const WORKLET_SOURCE = `
class RoomcastCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.blockFrames = options.processorOptions.blockFrames;
    this.planes = null;
    this.filled = 0;
    this.startFrame = 0;
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    if (!this.planes || this.planes.length !== input.length) {
      this.planes = input.map(() => new Float32Array(this.blockFrames + frames));
      this.filled = 0;
    }
    if (this.filled === 0) this.startFrame = currentFrame;
    for (let ch = 0; ch < input.length; ch++) this.planes[ch].set(input[ch], this.filled);
    this.filled += frames;
    if (this.filled >= this.blockFrames) {
      const channels = this.planes.map((plane) => plane.slice(0, this.filled));
      this.port.postMessage({ startFrame: this.startFrame, channels }, channels.map((c) => c.buffer));
      this.filled = 0;
    }
    return true;
  }
}
registerProcessor('roomcast-capture', RoomcastCapture);
`;

interface CaptureBlock {
  startFrame: number;
  channels: Float32Array[];
}

/** Opus works at 48 kHz; ask for it, and take the default where the track can't connect to it. */
function openCaptureContext(track: MediaStreamTrack): {
  context: AudioContext;
  source: MediaStreamAudioSourceNode;
} {
  const stream = new MediaStream([track]);
  try {
    const context = new AudioContext({ sampleRate: 48000 });
    try {
      return { context, source: context.createMediaStreamSource(stream) };
    } catch (err) {
      context.close().catch(() => undefined);
      log.debug('48 kHz capture context refused the track; using the default rate', err);
    }
  } catch {
    // sampleRate option unsupported
  }
  const context = new AudioContext();
  return { context, source: context.createMediaStreamSource(stream) };
}

/**
 * Fallback audio reader: an AudioWorklet copies ~10 ms blocks out, and we wrap them in AudioData
 * stamped by sample count.
 */
function workletAudioSource(
  track: MediaStreamTrack,
  onFrame: (data: AudioData) => void,
): FrameSource {
  let closed = false;
  const { context, source } = openCaptureContext(track);
  const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
  let node: AudioWorkletNode | null = null;
  const blockFrames = Math.round((context.sampleRate * AUDIO_BLOCK_MS) / 1000);
  context.audioWorklet
    .addModule(url)
    .then(() => {
      if (closed) return;
      node = new AudioWorkletNode(context, 'roomcast-capture', {
        numberOfOutputs: 0,
        processorOptions: { blockFrames },
      });
      node.port.onmessage = (event: MessageEvent<CaptureBlock>) => {
        if (closed) return;
        const { startFrame, channels } = event.data;
        const frames = channels[0]?.length ?? 0;
        if (frames === 0) return;
        const data = new Float32Array(frames * channels.length);
        channels.forEach((channel, i) => data.set(channel, i * frames));
        onFrame(
          new AudioData({
            format: 'f32-planar',
            sampleRate: context.sampleRate,
            numberOfFrames: frames,
            numberOfChannels: channels.length,
            timestamp: Math.round((startFrame * 1e6) / context.sampleRate),
            data,
          }),
        );
      };
      source.connect(node);
    })
    .catch((err: unknown) => log.warn('audio worklet unavailable; no relay audio', err))
    .finally(() => URL.revokeObjectURL(url));
  context.resume().catch(() => undefined);
  return {
    kind: 'worklet',
    close() {
      closed = true;
      node?.port.close();
      source.disconnect();
      context.close().catch(() => undefined);
    },
  };
}

export function openVideoSource(
  track: MediaStreamTrack,
  onFrame: (frame: VideoFrame) => void,
  mode: FrameSourceMode = 'auto',
): FrameSource {
  if (mode !== 'fallback' && hasTrackProcessor()) return processorSource(track, onFrame);
  return videoElementSource(track, onFrame);
}

export function openAudioSource(
  track: MediaStreamTrack,
  onFrame: (data: AudioData) => void,
  mode: FrameSourceMode = 'auto',
): FrameSource {
  if (mode !== 'fallback' && hasTrackProcessor()) return processorSource(track, onFrame);
  return workletAudioSource(track, onFrame);
}
