import {
  decodeRelayFrame,
  type PeerStatsDigest,
  type RelayDecoderConfig,
  type RelayFrame,
} from '../../../shared';
import { createLogger } from './logger';
import { base64ToBytes } from './relay/base64';
import { codecNameFromCodecString } from './relay/codec-selection';
import { JitterBuffer } from './relay/jitter-buffer';
import { createOutputSink, type OutputMode, type RelayOutputSink } from './relay/output-sink';
import { RateLimiter, RateMeter, TrackGate, lossPercent } from './relay/sequencing';

const log = createLogger('relay-player');

export interface RelayPlayerOptions {
  onStream: (stream: MediaStream) => void;
  requestKeyframe: () => void;
  onFirstFrame?: () => void;
  /** This browser cannot decode the stream (no WebCodecs, or the codec is not supported). */
  onUnplayable?: (reason: string) => void;
  /** Tests: force the canvas/AudioContext output instead of MediaStreamTrackGenerator. */
  output?: OutputMode;
}

/** Chunks queued in a decoder before we give up on catching up and restart from a keyframe. */
const MAX_VIDEO_DECODE_QUEUE = 16;
const MAX_AUDIO_DECODE_QUEUE = 10;
const KEYFRAME_REQUEST_INTERVAL_MS = 1000;

function configKey(config: RelayDecoderConfig): string {
  return JSON.stringify(config);
}

/**
 * The relay viewer: relay-frame chunks → VideoDecoder/AudioDecoder → a small A/V jitter buffer
 * → one MediaStream (MediaStreamTrackGenerator, or canvas + AudioContext where missing).
 */
export class RelayPlayer {
  readonly #onStream: (stream: MediaStream) => void;
  readonly #requestKeyframe: () => void;
  readonly #onFirstFrame: (() => void) | undefined;
  readonly #onUnplayable: ((reason: string) => void) | undefined;
  #unplayable = false;
  readonly #outputMode: OutputMode;

  #sink: RelayOutputSink | null = null;
  #closed = false;

  #videoDecoder: VideoDecoder | null = null;
  #videoConfigKey: string | null = null;
  #videoCodec: string | null = null;
  #audioDecoder: AudioDecoder | null = null;
  #audioConfigKey: string | null = null;

  readonly #videoGate = new TrackGate(true);
  readonly #audioGate = new TrackGate(false);
  readonly #keyframeLimiter = new RateLimiter(KEYFRAME_REQUEST_INTERVAL_MS);
  readonly #jitter = new JitterBuffer<VideoFrame>();
  #pumpTimer: ReturnType<typeof setTimeout> | null = null;

  #framesDecoded = 0;
  #firstFrameSeen = false;
  #width = 0;
  #height = 0;
  readonly #bytes = new RateMeter(1000);
  readonly #frames = new RateMeter(1000);

  constructor(opts: RelayPlayerOptions) {
    this.#onStream = opts.onStream;
    this.#requestKeyframe = opts.requestKeyframe;
    this.#onFirstFrame = opts.onFirstFrame;
    this.#onUnplayable = opts.onUnplayable;
    this.#outputMode = opts.output ?? 'auto';
  }

  get framesDecoded(): number {
    return this.#framesDecoded;
  }

  handleChunk(frame: ArrayBuffer | Uint8Array): void {
    if (this.#closed || this.#unplayable) return;
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
    const parsed = decodeRelayFrame(bytes);
    if (!parsed.ok) {
      log.debug('bad relay chunk', parsed.error);
      return;
    }
    this.#bytes.add(performance.now(), bytes.byteLength);
    this.#ensureSink();
    if (parsed.frame.track === 'video') this.#handleVideo(parsed.frame);
    else this.#handleAudio(parsed.frame);
  }

  collectStats(): PeerStatsDigest {
    const now = performance.now();
    return {
      path: 'relay',
      codec: codecNameFromCodecString(this.#videoCodec) ?? '',
      bitrateKbps: Math.round((this.#bytes.perSecond(now) * 8) / 1000),
      fps: Math.round(this.#frames.perSecond(now)),
      width: this.#width,
      height: this.#height,
      rttMs: null,
      lossPct: lossPercent(
        this.#videoGate.lost + this.#audioGate.lost,
        this.#videoGate.received + this.#audioGate.received,
      ),
      candidateType: null,
      protocol: 'ws',
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = null;
    for (const frame of this.#jitter.clear()) frame.close();
    for (const decoder of [this.#videoDecoder, this.#audioDecoder]) {
      try {
        if (decoder && decoder.state !== 'closed') decoder.close();
      } catch {
        // already closed
      }
    }
    this.#videoDecoder = null;
    this.#audioDecoder = null;
    this.#sink?.close();
    this.#sink = null;
  }

  // ---- output --------------------------------------------------------------------------

  #ensureSink(): void {
    if (this.#sink) return;
    this.#sink = createOutputSink(this.#outputMode);
    log.info('relay player output', { kind: this.#sink.kind });
    this.#onStream(this.#sink.stream);
  }

  #pump(): void {
    if (this.#closed || !this.#sink) return;
    const now = performance.now();
    const clock = this.#sink.audioClockUs(now);
    for (const frame of this.#jitter.pull(clock, now)) this.#sink.writeVideo(frame);
    const wait = this.#jitter.nextDeadlineMs(now);
    if (wait !== null && !this.#pumpTimer) {
      // Audio writes also pump; this timer only covers the max-wait bound when audio stalls.
      this.#pumpTimer = setTimeout(
        () => {
          this.#pumpTimer = null;
          this.#pump();
        },
        Math.max(5, Math.min(wait, 20)),
      );
    }
  }

  #askForKeyframe(): void {
    if (this.#keyframeLimiter.tryAcquire(performance.now())) {
      log.debug('requesting a keyframe');
      this.#requestKeyframe();
    }
  }

  // ---- video ---------------------------------------------------------------------------

  #handleVideo(frame: RelayFrame): void {
    const decision = this.#videoGate.accept(frame);
    if (!decision.decode) {
      if (decision.needKeyframe) this.#askForKeyframe();
      return;
    }
    if (frame.keyframe && frame.config) this.#configureVideo(frame.config);
    const decoder = this.#videoDecoder;
    if (!decoder || decoder.state !== 'configured') {
      this.#videoGate.reset();
      this.#askForKeyframe();
      return;
    }
    if (decoder.decodeQueueSize > MAX_VIDEO_DECODE_QUEUE) {
      log.warn('video decoder behind; restarting from the next keyframe');
      this.#resetVideoDecoder();
      return;
    }
    try {
      decoder.decode(
        new EncodedVideoChunk({
          type: frame.keyframe ? 'key' : 'delta',
          timestamp: frame.timestampUs,
          ...(frame.durationUs > 0 ? { duration: frame.durationUs } : {}),
          data: frame.data,
        }),
      );
    } catch (err) {
      log.warn('video decode refused', err);
      this.#resetVideoDecoder();
    }
  }

  #configureVideo(config: RelayDecoderConfig): void {
    const key = configKey(config);
    if (key === this.#videoConfigKey && this.#videoDecoder?.state === 'configured') return;
    if (typeof VideoDecoder === 'undefined') {
      this.#markUnplayable('no WebCodecs VideoDecoder');
      return;
    }
    if (!this.#videoDecoder || this.#videoDecoder.state === 'closed') {
      const decoder: VideoDecoder = new VideoDecoder({
        output: (out) => this.#onVideoFrame(out),
        error: (err) => {
          if (decoder !== this.#videoDecoder) return;
          if (err.name === 'NotSupportedError') {
            // Waiting for another keyframe of the same codec would loop forever.
            this.#markUnplayable(`${config.codec} is not supported`);
            return;
          }
          log.warn('video decoder error; waiting for a keyframe', err);
          this.#videoDecoder = null;
          this.#videoConfigKey = null;
          this.#videoGate.reset();
          this.#askForKeyframe();
        },
      });
      this.#videoDecoder = decoder;
    }
    try {
      this.#videoDecoder.configure({
        codec: config.codec,
        ...(config.codedWidth ? { codedWidth: config.codedWidth } : {}),
        ...(config.codedHeight ? { codedHeight: config.codedHeight } : {}),
        ...(config.description ? { description: base64ToBytes(config.description) } : {}),
        optimizeForLatency: true,
      });
      this.#videoConfigKey = key;
      this.#videoCodec = config.codec;
      log.info('relay video decoder configured', { codec: config.codec });
    } catch (err) {
      log.warn('video decoder config refused', err);
      this.#videoConfigKey = null;
    }
  }

  #markUnplayable(reason: string): void {
    if (this.#unplayable) return;
    this.#unplayable = true;
    log.warn('relay cannot play here', reason);
    this.#onUnplayable?.(reason);
  }

  #resetVideoDecoder(): void {
    try {
      this.#videoDecoder?.reset();
    } catch {
      // closed already
    }
    this.#videoConfigKey = null;
    this.#videoGate.reset();
    this.#askForKeyframe();
  }

  #onVideoFrame(frame: VideoFrame): void {
    if (this.#closed || !this.#sink) {
      frame.close();
      return;
    }
    const now = performance.now();
    this.#framesDecoded++;
    this.#frames.add(now, 1);
    this.#width = frame.displayWidth;
    this.#height = frame.displayHeight;
    if (!this.#firstFrameSeen) {
      this.#firstFrameSeen = true;
      this.#onFirstFrame?.();
    }
    this.#jitter.push(frame, frame.timestamp, now);
    this.#pump();
  }

  // ---- audio ---------------------------------------------------------------------------

  #handleAudio(frame: RelayFrame): void {
    const decision = this.#audioGate.accept(frame);
    if (!decision.decode) return;
    if (frame.config) this.#configureAudio(frame.config);
    const decoder = this.#audioDecoder;
    if (!decoder || decoder.state !== 'configured') return;
    if (decoder.decodeQueueSize > MAX_AUDIO_DECODE_QUEUE) return;
    try {
      decoder.decode(
        new EncodedAudioChunk({
          type: 'key',
          timestamp: frame.timestampUs,
          ...(frame.durationUs > 0 ? { duration: frame.durationUs } : {}),
          data: frame.data,
        }),
      );
    } catch (err) {
      log.warn('audio decode refused', err);
    }
  }

  #configureAudio(config: RelayDecoderConfig): void {
    const key = configKey(config);
    if (key === this.#audioConfigKey && this.#audioDecoder?.state === 'configured') return;
    if (!config.sampleRate || !config.numberOfChannels) return;
    if (typeof AudioDecoder === 'undefined') {
      this.#markUnplayable('no WebCodecs AudioDecoder');
      return;
    }
    if (!this.#audioDecoder || this.#audioDecoder.state === 'closed') {
      const decoder: AudioDecoder = new AudioDecoder({
        output: (data) => {
          if (this.#closed || !this.#sink) {
            data.close();
            return;
          }
          this.#sink.writeAudio(data);
          this.#pump();
        },
        error: (err) => {
          if (decoder !== this.#audioDecoder) return;
          log.warn('audio decoder error; waiting for the next config', err);
          this.#audioDecoder = null;
          this.#audioConfigKey = null;
        },
      });
      this.#audioDecoder = decoder;
    }
    try {
      this.#audioDecoder.configure({
        codec: config.codec,
        sampleRate: config.sampleRate,
        numberOfChannels: config.numberOfChannels,
        ...(config.description ? { description: base64ToBytes(config.description) } : {}),
      });
      this.#audioConfigKey = key;
    } catch (err) {
      log.warn('audio decoder config refused', err);
      this.#audioConfigKey = null;
    }
  }
}
