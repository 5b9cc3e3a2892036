/**
 * The synthetic media the relay benchmark publishes: a 30 fps video track with a keyframe every
 * second and 50 audio frames per second, sized so the total is the target bitrate, each wrapped
 * in the shared/relay-frame.ts envelope. The chunk payload starts with the send time and the
 * measurement-window id so receivers can count and time what they get.
 */
import { encodeRelayFrame, type RelayDecoderConfig } from '../../shared/relay-frame';

export interface FrameSpec {
  totalKbps: number;
  videoFps: number;
  audioFps: number;
  /** A keyframe this often (ms). */
  keyframeIntervalMs: number;
  /** A keyframe is this many times bigger than a delta frame. */
  keyframeRatio: number;
  audioBytes: number;
}

export const DEFAULT_FRAME_SPEC: FrameSpec = {
  totalKbps: 3000,
  videoFps: 30,
  audioFps: 50,
  keyframeIntervalMs: 1000,
  keyframeRatio: 5,
  // Opus at 64 kbit/s in 20 ms frames.
  audioBytes: 160,
};

export const VIDEO_CONFIG: RelayDecoderConfig = {
  codec: 'av01.0.08M.08',
  codedWidth: 1280,
  codedHeight: 720,
};
export const AUDIO_CONFIG: RelayDecoderConfig = {
  codec: 'opus',
  sampleRate: 48_000,
  numberOfChannels: 2,
};

/** Payload prefix: f64 send time (ms, performance.timeOrigin + now) + u8 window id. */
export const STAMP_BYTES = 9;

export interface FrameSizes {
  keyframeBytes: number;
  deltaBytes: number;
  audioBytes: number;
  framesPerGop: number;
}

/** Payload sizes so that one second of video + audio adds up to `totalKbps`. */
export function frameSizes(spec: FrameSpec): FrameSizes {
  const bytesPerSecond = (spec.totalKbps * 1000) / 8;
  const videoBytesPerSecond = bytesPerSecond - spec.audioBytes * spec.audioFps;
  const framesPerGop = Math.max(1, Math.round((spec.videoFps * spec.keyframeIntervalMs) / 1000));
  const gopsPerSecond = 1000 / spec.keyframeIntervalMs;
  // Per GOP: 1 keyframe (ratio × delta) + (framesPerGop − 1) deltas.
  const deltaBytes = Math.max(
    STAMP_BYTES,
    Math.round(videoBytesPerSecond / gopsPerSecond / (spec.keyframeRatio + framesPerGop - 1)),
  );
  return {
    keyframeBytes: deltaBytes * spec.keyframeRatio,
    deltaBytes,
    audioBytes: Math.max(STAMP_BYTES, spec.audioBytes),
    framesPerGop,
  };
}

export interface Stamp {
  sentAtMs: number;
  windowId: number;
}

export function writeStamp(payload: Uint8Array, stamp: Stamp): void {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  view.setFloat64(0, stamp.sentAtMs, true);
  view.setUint8(8, stamp.windowId);
}

export function readStamp(payload: Uint8Array): Stamp | null {
  if (payload.byteLength < STAMP_BYTES) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { sentAtMs: view.getFloat64(0, true), windowId: view.getUint8(8) };
}

/** Produces the envelope bytes of each frame in turn (one allocation per frame). */
export class FrameSource {
  readonly sizes: FrameSizes;
  readonly #filler: Uint8Array;
  #videoSeq = 0;
  #audioSeq = 0;

  constructor(
    readonly spec: FrameSpec = DEFAULT_FRAME_SPEC,
    filler?: Uint8Array,
  ) {
    this.sizes = frameSizes(spec);
    this.#filler = filler ?? pseudoRandomBytes(this.sizes.keyframeBytes);
  }

  nextVideo(stamp: Stamp): { bytes: Uint8Array; keyframe: boolean } {
    const seq = this.#videoSeq++;
    const keyframe = seq % this.sizes.framesPerGop === 0;
    const data = this.#payload(keyframe ? this.sizes.keyframeBytes : this.sizes.deltaBytes, stamp);
    const bytes = encodeRelayFrame({
      track: 'video',
      keyframe,
      seq,
      timestampUs: Math.round((seq * 1_000_000) / this.spec.videoFps),
      durationUs: Math.round(1_000_000 / this.spec.videoFps),
      ...(keyframe ? { config: VIDEO_CONFIG } : {}),
      data,
    });
    return { bytes, keyframe };
  }

  nextAudio(stamp: Stamp): Uint8Array {
    const seq = this.#audioSeq++;
    return encodeRelayFrame({
      track: 'audio',
      keyframe: true,
      seq,
      timestampUs: Math.round((seq * 1_000_000) / this.spec.audioFps),
      durationUs: Math.round(1_000_000 / this.spec.audioFps),
      ...(seq === 0 ? { config: AUDIO_CONFIG } : {}),
      data: this.#payload(this.sizes.audioBytes, stamp),
    });
  }

  #payload(length: number, stamp: Stamp): Uint8Array {
    const data = new Uint8Array(length);
    data.set(this.#filler.subarray(0, Math.min(length, this.#filler.byteLength)));
    writeStamp(data, stamp);
    return data;
  }
}

/** Incompressible-looking filler without pulling in node:crypto (xorshift32). */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Which frames are due at `elapsedMs` after the start, given how many of each were sent:
 * a fixed schedule, so a late timer catches up instead of lowering the rate.
 */
export function framesDue(
  spec: FrameSpec,
  elapsedMs: number,
  sent: { video: number; audio: number },
): { video: number; audio: number } {
  const videoTarget = Math.floor((elapsedMs * spec.videoFps) / 1000) + 1;
  const audioTarget = Math.floor((elapsedMs * spec.audioFps) / 1000) + 1;
  return {
    video: Math.max(0, videoTarget - sent.video),
    audio: Math.max(0, audioTarget - sent.audio),
  };
}
