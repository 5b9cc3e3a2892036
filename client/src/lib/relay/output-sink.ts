import { createTrackGenerator, hasTrackGenerator } from './media-streams';
import { createLogger } from '../logger';

const log = createLogger('relay-output');

/**
 * Where the relay player puts decoded media: one MediaStream (video + audio) for a <video>.
 * Write methods take ownership of the frame/data and close it.
 */
export interface RelayOutputSink {
  readonly kind: 'generator' | 'canvas';
  readonly stream: MediaStream;
  writeVideo(frame: VideoFrame): void;
  writeAudio(data: AudioData): void;
  /** The timestamp (µs) of the audio being played now, or null when there is no live audio. */
  audioClockUs(nowMs: number): number | null;
  close(): void;
}

/** Audio older than this means the audio stopped: don't hold video back for it. */
const AUDIO_STALE_MS = 300;
/** Writes in flight per track before we drop (the generator is not keeping up). */
const MAX_PENDING_WRITES = 4;

class BoundedWriter<T extends VideoFrame | AudioData> {
  readonly #writer: WritableStreamDefaultWriter<T>;
  #pending = 0;
  dropped = 0;

  constructor(writable: WritableStream<T>) {
    this.#writer = writable.getWriter();
  }

  write(item: T): boolean {
    if (this.#pending >= MAX_PENDING_WRITES) {
      item.close();
      this.dropped++;
      return false;
    }
    this.#pending++;
    this.#writer.write(item).then(
      () => {
        this.#pending--;
      },
      (err: unknown) => {
        this.#pending--;
        item.close();
        log.debug('generator write failed', err);
      },
    );
    return true;
  }

  close(): void {
    this.#writer.close().catch(() => undefined);
  }
}

class AudioClock {
  #endUs: number | null = null;
  #atMs = 0;

  note(timestampUs: number, durationUs: number, nowMs: number): void {
    this.#endUs = timestampUs + durationUs;
    this.#atMs = nowMs;
  }

  /** The end of the last written audio, advanced by the wall time since (it keeps playing). */
  read(nowMs: number): number | null {
    if (this.#endUs === null || nowMs - this.#atMs > AUDIO_STALE_MS) return null;
    return this.#endUs + (nowMs - this.#atMs) * 1000;
  }
}

/** Chromium: MediaStreamTrackGenerator for both kinds. */
export function createGeneratorSink(): RelayOutputSink {
  const videoTrack = createTrackGenerator<VideoFrame>('video');
  const audioTrack = createTrackGenerator<AudioData>('audio');
  const video = new BoundedWriter(videoTrack.writable);
  const audio = new BoundedWriter(audioTrack.writable);
  const clock = new AudioClock();
  const stream = new MediaStream([videoTrack, audioTrack]);
  return {
    kind: 'generator',
    stream,
    writeVideo: (frame) => void video.write(frame),
    writeAudio(data) {
      clock.note(data.timestamp, data.duration, performance.now());
      audio.write(data);
    },
    audioClockUs: (nowMs) => clock.read(nowMs),
    close() {
      video.close();
      audio.close();
      videoTrack.stop();
      audioTrack.stop();
    },
  };
}

/** Furthest we schedule audio ahead of the AudioContext clock before dropping (bounded). */
const MAX_AUDIO_AHEAD_S = 0.25;
const AUDIO_START_DELAY_S = 0.02;

/**
 * Fallback without MediaStreamTrackGenerator: frames are drawn on a canvas captured with
 * captureStream(), audio is scheduled as AudioBufferSourceNodes on an AudioContext feeding a
 * MediaStreamAudioDestinationNode. Both tracks go in one MediaStream.
 */
export function createCanvasSink(): RelayOutputSink {
  const canvas = document.createElement('canvas');
  canvas.width = 2;
  canvas.height = 2;
  const ctx = canvas.getContext('2d');
  const canvasStream = canvas.captureStream();
  const context = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
  const destination = context.createMediaStreamDestination();
  context.resume().catch(() => undefined);
  const stream = new MediaStream([
    ...canvasStream.getVideoTracks(),
    ...destination.stream.getAudioTracks(),
  ]);
  let cursorS = 0;
  // Maps the AudioContext clock to media timestamps: tsUs plays at context time atS.
  let anchor: { tsUs: number; atS: number } | null = null;
  return {
    kind: 'canvas',
    stream,
    writeVideo(frame) {
      try {
        if (ctx) {
          if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
            canvas.width = frame.displayWidth;
            canvas.height = frame.displayHeight;
          }
          ctx.drawImage(frame, 0, 0);
        }
      } finally {
        frame.close();
      }
    },
    writeAudio(data) {
      try {
        const now = context.currentTime;
        if (cursorS < now + AUDIO_START_DELAY_S / 2) cursorS = now + AUDIO_START_DELAY_S;
        if (cursorS - now > MAX_AUDIO_AHEAD_S) return; // too far ahead: drop this packet
        const buffer = context.createBuffer(
          data.numberOfChannels,
          data.numberOfFrames,
          data.sampleRate,
        );
        for (let ch = 0; ch < data.numberOfChannels; ch++) {
          const plane = new Float32Array(data.numberOfFrames);
          data.copyTo(plane, { planeIndex: ch, format: 'f32-planar' });
          buffer.copyToChannel(plane, ch);
        }
        const node = context.createBufferSource();
        node.buffer = buffer;
        node.connect(destination);
        node.start(cursorS);
        anchor = { tsUs: data.timestamp, atS: cursorS };
        cursorS += buffer.duration;
      } finally {
        data.close();
      }
    },
    audioClockUs(nowMs) {
      void nowMs;
      if (!anchor || context.currentTime - (anchor.atS + 0.1) > AUDIO_STALE_MS / 1000) return null;
      return anchor.tsUs + (context.currentTime - anchor.atS) * 1e6;
    },
    close() {
      for (const track of stream.getTracks()) track.stop();
      context.close().catch(() => undefined);
    },
  };
}

export type OutputMode = 'auto' | 'generator' | 'canvas';

export function createOutputSink(mode: OutputMode = 'auto'): RelayOutputSink {
  if (mode === 'canvas' || (mode === 'auto' && !hasTrackGenerator())) return createCanvasSink();
  return createGeneratorSink();
}
