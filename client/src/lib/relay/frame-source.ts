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
 * Fallback for browsers without MediaStreamTrackProcessor: play the track in a hidden <video>,
 * and on each presented frame (requestVideoFrameCallback) draw it onto a canvas and wrap that
 * in a VideoFrame stamped with the presentation time.
 */
function canvasVideoSource(
  track: MediaStreamTrack,
  onFrame: (frame: VideoFrame) => void,
): FrameSource {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const canvas =
    typeof OffscreenCanvas === 'function'
      ? new OffscreenCanvas(2, 2)
      : Object.assign(document.createElement('canvas'), { width: 2, height: 2 });
  const ctx = canvas.getContext('2d') as
    OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
  let closed = false;
  let handle = 0;
  const onVideoFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
    if (closed) return;
    handle = video.requestVideoFrameCallback(onVideoFrame);
    if (!ctx || meta.width === 0 || meta.height === 0) return;
    if (canvas.width !== meta.width || canvas.height !== meta.height) {
      canvas.width = meta.width;
      canvas.height = meta.height;
    }
    ctx.drawImage(video, 0, 0, meta.width, meta.height);
    const at = meta.captureTime ?? meta.expectedDisplayTime;
    onFrame(new VideoFrame(canvas, { timestamp: Math.round(at * 1000) }));
  };
  handle = video.requestVideoFrameCallback(onVideoFrame);
  video.play().catch((err: unknown) => log.warn('fallback source video did not play', err));
  return {
    kind: 'canvas',
    close() {
      closed = true;
      video.cancelVideoFrameCallback(handle);
      video.pause();
      video.srcObject = null;
    },
  };
}

const WORKLET_SOURCE = `
class RoomcastCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      this.port.postMessage(input.map((channel) => channel.slice()));
    }
    return true;
  }
}
registerProcessor('roomcast-capture', RoomcastCapture);
`;

/**
 * Fallback audio reader: an AudioWorklet copies each 128-sample render quantum out, and we wrap
 * the samples in AudioData stamped with the AudioContext's output timestamp.
 */
function workletAudioSource(
  track: MediaStreamTrack,
  onFrame: (data: AudioData) => void,
): FrameSource {
  let closed = false;
  const context = new AudioContext();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
  let node: AudioWorkletNode | null = null;
  let frameIndex = 0;
  let baseUs: number | null = null;
  context.audioWorklet
    .addModule(url)
    .then(() => {
      if (closed) return;
      node = new AudioWorkletNode(context, 'roomcast-capture');
      node.port.onmessage = (event: MessageEvent<Float32Array[]>) => {
        if (closed) return;
        const channels = event.data;
        const frames = channels[0]?.length ?? 0;
        if (frames === 0) return;
        baseUs ??= performance.now() * 1000;
        const data = new Float32Array(frames * channels.length);
        channels.forEach((channel, i) => data.set(channel, i * frames));
        const timestamp = Math.round(baseUs + (frameIndex * 1e6) / context.sampleRate);
        frameIndex += frames;
        onFrame(
          new AudioData({
            format: 'f32-planar',
            sampleRate: context.sampleRate,
            numberOfFrames: frames,
            numberOfChannels: channels.length,
            timestamp,
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
  return canvasVideoSource(track, onFrame);
}

export function openAudioSource(
  track: MediaStreamTrack,
  onFrame: (data: AudioData) => void,
  mode: FrameSourceMode = 'auto',
): FrameSource {
  if (mode !== 'fallback' && hasTrackProcessor()) return processorSource(track, onFrame);
  return workletAudioSource(track, onFrame);
}
