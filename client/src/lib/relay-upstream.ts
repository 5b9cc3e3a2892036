import {
  QUALITY_PRESETS,
  RELAY_MAX_FRAME_BYTES,
  encodeRelayFrame,
  type QualityPreset,
  type RelayDecoderConfig,
  type VideoCodecName,
} from '../../../shared';
import { createLogger } from './logger';
import { bufferSourceBytes, bytesToBase64 } from './relay/base64';
import { ClockRebaser } from './relay/clock-rebaser';
import { selectVideoEncoderConfig } from './relay/codec-selection';
import { isRealtimeConfigSupported, markNotRealtime } from './relay/encoder-probe';
import {
  openAudioSource,
  openVideoSource,
  type FrameSource,
  type FrameSourceMode,
} from './relay/frame-source';
import { InFlightFrames, RateMeter } from './relay/sequencing';

const log = createLogger('relay-upstream');

export interface RelayUpstreamOptions {
  send: (frame: Uint8Array) => void;
  codecOrder: readonly VideoCodecName[];
  preferH264: boolean;
  quality: QualityPreset;
  keyframeIntervalMs?: number;
  onStateChange?: (s: { running: boolean; codec: string | null; error: string | null }) => void;
  /** Tests: force the <video>/canvas/AudioWorklet readers instead of MediaStreamTrackProcessor. */
  frameSource?: FrameSourceMode;
}

export interface RelayUpstreamStats {
  bitrateKbps: number;
  fps: number;
  codec: string | null;
  droppedFrames: number;
}

/** Skip raw frames while the encoder has more than this many queued (it can't keep up). */
const MAX_ENCODE_QUEUE = 2;
/** …and while more than this many are inside the encoder without output (its hidden queue). */
const MAX_IN_FLIGHT = 2;
const AUDIO_BITRATE = 64_000;
/** The audio decoder config also rides along at least this often. */
const AUDIO_CONFIG_INTERVAL_MS = 5000;
const MAX_AUDIO_ENCODE_QUEUE = 20;
/** A jump this big between audio inputs is a gap (µs). */
const AUDIO_GAP_US = 30_000;
/**
 * The audio input clock can run off real time (a capture AudioContext's clock under load ran
 * 11 % slow here); re-taking the offset every second bounds how far audio lags the video.
 */
const AUDIO_REBASE_WINDOW_MS = 1000;
/** An encoder that has taken this many frames over this long without one output is stalled. */
const STALL_MIN_FRAMES = 4;
const STALL_MS = 2500;

interface VideoEncoding {
  name: VideoCodecName;
  config: VideoEncoderConfig;
}

function toRelayConfig(config: VideoDecoderConfig | AudioDecoderConfig): RelayDecoderConfig {
  const out: RelayDecoderConfig = { codec: config.codec };
  if ('codedWidth' in config && config.codedWidth) out.codedWidth = config.codedWidth;
  if ('codedHeight' in config && config.codedHeight) out.codedHeight = config.codedHeight;
  if ('sampleRate' in config) out.sampleRate = config.sampleRate;
  if ('numberOfChannels' in config) out.numberOfChannels = config.numberOfChannels;
  if (config.description) out.description = bytesToBase64(bufferSourceBytes(config.description));
  return out;
}

function chunkBytes(chunk: EncodedVideoChunk | EncodedAudioChunk): Uint8Array {
  const data = new Uint8Array(chunk.byteLength);
  chunk.copyTo(data);
  return data;
}

/**
 * The broadcaster's WebCodecs upstream for the server relay: camera/screen → VideoEncoder
 * (realtime) + AudioEncoder (Opus) → relay-frame envelopes → `send`. Timestamps are rebased onto
 * performance.now() (µs) so audio and video share one clock across source changes.
 */
export class RelayUpstream {
  readonly #send: (frame: Uint8Array) => void;
  readonly #codecOrder: readonly VideoCodecName[];
  readonly #keyframeIntervalMs: number;
  readonly #onStateChange: RelayUpstreamOptions['onStateChange'];
  readonly #sourceMode: FrameSourceMode;
  #preferH264: boolean;
  #quality: QualityPreset;

  #running = false;
  #starting: Promise<void> | null = null;
  #stream: MediaStream | null = null;
  #error: string | null = null;
  /** Bumped on stop, so late async work from an old run is ignored. */
  #generation = 0;

  // video
  #videoSource: FrameSource | null = null;
  #videoEncoder: VideoEncoder | null = null;
  #encoding: VideoEncoding | null = null;
  #failedCodecs = new Set<VideoCodecName>();
  #videoConfig: RelayDecoderConfig | null = null;
  #videoSeq = 0;
  #forceKeyframe = true;
  #lastKeyframeMs = -Infinity;
  #videoClock = new ClockRebaser();
  #lastVideoTsUs = -Infinity;
  #reconfiguring = false;
  #droppedFrames = 0;
  #inFlight = new InFlightFrames();
  /** Frames given to / chunks out of the current video encoder (stall detection). */
  #encoderSubmitted = 0;
  #encoderOutputs = 0;
  #encoderFirstSubmitMs = 0;

  // audio
  #audioSource: FrameSource | null = null;
  #audioEncoder: AudioEncoder | null = null;
  #audioClock = new ClockRebaser(AUDIO_REBASE_WINDOW_MS);
  #audioConfig: RelayDecoderConfig | null = null;
  #audioSeq = 0;
  #audioConfigDue = true;
  #lastAudioConfigMs = -Infinity;

  #bytes = new RateMeter(1000);
  #frames = new RateMeter(1000);

  constructor(opts: RelayUpstreamOptions) {
    this.#send = opts.send;
    this.#codecOrder = opts.codecOrder;
    this.#preferH264 = opts.preferH264;
    this.#quality = opts.quality;
    this.#keyframeIntervalMs = opts.keyframeIntervalMs ?? 1000;
    this.#onStateChange = opts.onStateChange;
    this.#sourceMode = opts.frameSource ?? 'auto';
  }

  get running(): boolean {
    return this.#running;
  }

  /** Idempotent: a second call with the same stream does nothing, another stream swaps sources. */
  async start(stream: MediaStream): Promise<void> {
    if (this.#starting) await this.#starting;
    if (this.#running) {
      if (stream !== this.#stream) await this.setStream(stream);
      return;
    }
    this.#starting = this.#start(stream);
    try {
      await this.#starting;
    } finally {
      this.#starting = null;
    }
  }

  async #start(stream: MediaStream): Promise<void> {
    if (typeof VideoEncoder === 'undefined') {
      this.#setError('WebCodecs is not available');
      return;
    }
    const generation = ++this.#generation;
    this.#stream = stream;
    this.#error = null;
    this.#failedCodecs.clear();
    const encoding = await this.#selectEncoding(stream.getVideoTracks()[0] ?? null);
    if (generation !== this.#generation) return;
    if (!encoding && stream.getVideoTracks().length > 0) {
      this.#setError('No supported video encoder');
      return;
    }
    this.#running = true;
    this.#forceKeyframe = true;
    this.#audioConfigDue = true;
    if (encoding) this.#openVideoEncoder(encoding);
    this.#attachSources(stream);
    log.info('relay upstream started', { codec: encoding?.config.codec ?? null });
    this.#emitState();
  }

  /** Source change while running (camera ↔ screen): new readers, a keyframe and fresh configs. */
  async setStream(stream: MediaStream): Promise<void> {
    if (!this.#running) {
      this.#stream = stream;
      return;
    }
    if (stream === this.#stream) return;
    this.#stream = stream;
    this.#detachSources();
    this.#forceKeyframe = true;
    if (!this.#videoEncoder && stream.getVideoTracks().length > 0) {
      const generation = this.#generation;
      const encoding = await this.#selectEncoding(stream.getVideoTracks()[0] ?? null);
      if (generation !== this.#generation || this.#stream !== stream) return;
      if (encoding) this.#openVideoEncoder(encoding);
    }
    this.#attachSources(stream);
  }

  setQuality(q: QualityPreset): void {
    if (q === this.#quality) return;
    this.#quality = q;
    if (!this.#encoding || !this.#videoEncoder) return;
    const preset = QUALITY_PRESETS[q];
    this.#reconfigure({
      ...this.#encoding,
      config: {
        ...this.#encoding.config,
        bitrate: preset.maxBitrateKbps * 1000,
        framerate: preset.fps,
      },
    });
  }

  setPreferH264(v: boolean): void {
    if (v === this.#preferH264) return;
    this.#preferH264 = v;
    if (!this.#running || !this.#encoding) return;
    const generation = this.#generation;
    const { width = 0, height = 0 } = this.#encoding.config;
    void selectVideoEncoderConfig(
      this.#codecOrder,
      v,
      this.#encodeParams(width, height),
      isRealtimeConfigSupported,
      this.#failedCodecs,
    ).then((next) => {
      if (generation !== this.#generation || !next || !this.#videoEncoder) return;
      if (next.config.codec === this.#encoding?.config.codec) return;
      log.info('relay codec change', { codec: next.config.codec });
      this.#reconfigure(next);
    });
  }

  requestKeyframe(): void {
    this.#forceKeyframe = true;
    this.#audioConfigDue = true;
  }

  stop(): void {
    this.#generation++;
    const wasRunning = this.#running;
    this.#running = false;
    this.#detachSources();
    for (const encoder of [this.#videoEncoder, this.#audioEncoder]) {
      try {
        if (encoder && encoder.state !== 'closed') encoder.close();
      } catch {
        // already closed
      }
    }
    this.#videoEncoder = null;
    this.#audioEncoder = null;
    this.#encoding = null;
    this.#videoConfig = null;
    this.#audioConfig = null;
    this.#stream = null;
    if (wasRunning) {
      log.info('relay upstream stopped');
      this.#emitState();
    }
  }

  stats(): RelayUpstreamStats {
    const now = performance.now();
    return {
      bitrateKbps: Math.round((this.#bytes.perSecond(now) * 8) / 1000),
      fps: Math.round(this.#frames.perSecond(now)),
      codec: this.#encoding?.config.codec ?? null,
      droppedFrames: this.#droppedFrames,
    };
  }

  // ---- setup ---------------------------------------------------------------------------

  #encodeParams(width: number, height: number) {
    const preset = QUALITY_PRESETS[this.#quality];
    return {
      width: width || preset.width,
      height: height || preset.height,
      fps: preset.fps,
      bitrateKbps: preset.maxBitrateKbps,
    };
  }

  async #selectEncoding(track: MediaStreamTrack | null): Promise<VideoEncoding | null> {
    if (!track) return null;
    const settings = track.getSettings();
    return selectVideoEncoderConfig(
      this.#codecOrder,
      this.#preferH264,
      this.#encodeParams(settings.width ?? 0, settings.height ?? 0),
      isRealtimeConfigSupported,
      this.#failedCodecs,
    );
  }

  #openVideoEncoder(encoding: VideoEncoding): void {
    const generation = this.#generation;
    const encoder = new VideoEncoder({
      output: (chunk, metadata) => {
        if (generation === this.#generation && encoder === this.#videoEncoder) {
          this.#onVideoChunk(chunk, metadata);
        }
      },
      error: (err) => {
        if (generation !== this.#generation || encoder !== this.#videoEncoder) return;
        log.warn('video encoder error; trying the next codec', err);
        this.#abandonEncoder(`video encoder failed: ${err.message}`);
      },
    });
    encoder.configure(encoding.config);
    this.#inFlight.clear();
    this.#encoderSubmitted = 0;
    this.#encoderOutputs = 0;
    this.#encoderFirstSubmitMs = 0;
    this.#videoEncoder = encoder;
    this.#encoding = encoding;
    this.#videoConfig = null;
    this.#forceKeyframe = true;
  }

  /** Drops the current video encoder's codec for this run and opens the next one in the order. */
  #abandonEncoder(errorIfNone: string): void {
    const failed = this.#encoding;
    const encoder = this.#videoEncoder;
    if (!failed || !encoder) return;
    const generation = this.#generation;
    this.#failedCodecs.add(failed.name);
    this.#videoEncoder = null;
    this.#encoding = null;
    try {
      if (encoder.state !== 'closed') encoder.close();
    } catch {
      // already closed
    }
    void this.#selectEncoding(this.#stream?.getVideoTracks()[0] ?? null).then((next) => {
      if (generation !== this.#generation) return;
      if (next) {
        this.#openVideoEncoder(next);
      } else {
        this.#setError(errorIfNone);
      }
      this.#emitState();
    });
  }

  /**
   * The probe should have kept out encoders that hold frames, but if one still gives nothing for
   * a while after several inputs, it is no use for live video: take the next codec.
   */
  #encoderStalled(now: number): boolean {
    if (this.#encoderOutputs > 0 || this.#encoderSubmitted < STALL_MIN_FRAMES) return false;
    return now - this.#encoderFirstSubmitMs > STALL_MS;
  }

  /** Same encoder, new settings (size, bitrate, codec); the next frame is a keyframe. */
  #reconfigure(encoding: VideoEncoding): void {
    if (!this.#videoEncoder || this.#videoEncoder.state === 'closed') return;
    try {
      const codecChanged = encoding.config.codec !== this.#encoding?.config.codec;
      this.#videoEncoder.configure(encoding.config);
      this.#encoding = encoding;
      // Chromium emits a new decoderConfig only when it changes (not for a bitrate change),
      // so the last one stays valid unless the codec itself changed.
      if (codecChanged) this.#videoConfig = null;
      this.#forceKeyframe = true;
      this.#emitState();
    } catch (err) {
      log.warn('video encoder reconfigure failed', err);
    }
  }

  #attachSources(stream: MediaStream): void {
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    // Each source has its own clock; both are mapped onto performance.now().
    this.#videoClock = new ClockRebaser();
    if (videoTrack) {
      this.#videoSource = openVideoSource(
        videoTrack,
        (frame) => this.#onRawVideo(frame),
        this.#sourceMode,
      );
    }
    if (audioTrack) this.#openAudio(audioTrack);
  }

  #detachSources(): void {
    this.#videoSource?.close();
    this.#videoSource = null;
    this.#audioSource?.close();
    this.#audioSource = null;
    // A new audio source gets a new encoder (its timestamps restart), with the config again.
    this.#closeAudioEncoder();
  }

  #closeAudioEncoder(): void {
    try {
      if (this.#audioEncoder && this.#audioEncoder.state !== 'closed') this.#audioEncoder.close();
    } catch {
      // already closed
    }
    this.#audioEncoder = null;
  }

  // ---- video ---------------------------------------------------------------------------

  #onRawVideo(frame: VideoFrame): void {
    const encoder = this.#videoEncoder;
    if (!this.#running || !encoder || encoder.state !== 'configured' || !this.#encoding) {
      frame.close();
      return;
    }
    if (this.#encoderStalled(performance.now())) {
      frame.close();
      const name = this.#encoding.name;
      log.warn('video encoder holds frames; trying the next codec', { codec: name });
      markNotRealtime(name);
      this.#abandonEncoder(`the ${name} encoder holds frames and no other codec is available`);
      return;
    }
    if (
      encoder.encodeQueueSize > MAX_ENCODE_QUEUE ||
      this.#inFlight.count(performance.now()) > MAX_IN_FLIGHT
    ) {
      this.#droppedFrames++;
      frame.close();
      return;
    }
    const { displayWidth: width, displayHeight: height } = frame;
    const configured = this.#encoding.config;
    if (
      Math.floor(width / 2) * 2 !== configured.width ||
      Math.floor(height / 2) * 2 !== configured.height
    ) {
      this.#resizeTo(width, height);
      frame.close();
      return;
    }
    const now = performance.now();
    let timestamp = this.#videoClock.map(frame.timestamp, now);
    if (timestamp <= this.#lastVideoTsUs) timestamp = this.#lastVideoTsUs + 1;
    this.#lastVideoTsUs = timestamp;
    const keyFrame = this.#forceKeyframe || now - this.#lastKeyframeMs >= this.#keyframeIntervalMs;
    let restamped: VideoFrame | null = null;
    try {
      restamped = new VideoFrame(frame, { timestamp });
      encoder.encode(restamped, { keyFrame });
      this.#inFlight.submitted(timestamp, now);
      if (this.#encoderSubmitted++ === 0) this.#encoderFirstSubmitMs = now;
      if (keyFrame) {
        this.#forceKeyframe = false;
        this.#lastKeyframeMs = now;
      }
    } catch (err) {
      log.warn('video encode failed', err);
    } finally {
      restamped?.close();
      frame.close();
    }
  }

  /** The source changed size: same codec, new dimensions (checked, so it can't throw later). */
  #resizeTo(width: number, height: number): void {
    if (this.#reconfiguring || !this.#encoding) return;
    this.#reconfiguring = true;
    const generation = this.#generation;
    const current = this.#encoding;
    void selectVideoEncoderConfig(
      [current.name],
      false,
      this.#encodeParams(width, height),
      (config) => VideoEncoder.isConfigSupported(config).then((r) => r.supported === true),
    )
      .then((next) => {
        if (generation !== this.#generation) return;
        if (next) {
          log.info('relay source size change', { width, height, codec: next.config.codec });
          this.#reconfigure(next);
        } else {
          log.warn('relay encoder cannot take the new size', { width, height });
        }
      })
      .finally(() => {
        this.#reconfiguring = false;
      });
  }

  #onVideoChunk(chunk: EncodedVideoChunk, metadata?: EncodedVideoChunkMetadata): void {
    this.#inFlight.output(chunk.timestamp);
    this.#encoderOutputs++;
    if (metadata?.decoderConfig) this.#videoConfig = toRelayConfig(metadata.decoderConfig);
    const keyframe = chunk.type === 'key';
    if (keyframe && !this.#videoConfig && this.#encoding) {
      // Chromium always attaches decoderConfig to the first output; this is a safety net.
      const { codec, width, height } = this.#encoding.config;
      this.#videoConfig = { codec, codedWidth: width, codedHeight: height };
    }
    const frame = encodeRelayFrame({
      track: 'video',
      keyframe,
      seq: this.#videoSeq,
      timestampUs: chunk.timestamp,
      durationUs: chunk.duration ?? 0,
      ...(keyframe && this.#videoConfig ? { config: this.#videoConfig } : {}),
      data: chunkBytes(chunk),
    });
    if (frame.byteLength > RELAY_MAX_FRAME_BYTES) {
      // The server would refuse it; skip it and let the viewers' gap logic ask for a keyframe.
      log.warn('encoded video chunk too large for the relay; dropped', frame.byteLength);
      this.#videoSeq = (this.#videoSeq + 1) >>> 0;
      return;
    }
    this.#videoSeq = (this.#videoSeq + 1) >>> 0;
    if (keyframe) this.#audioConfigDue = true;
    this.#frames.add(performance.now(), 1);
    this.#emit(frame);
  }

  // ---- audio ---------------------------------------------------------------------------

  #openAudio(track: MediaStreamTrack): void {
    if (typeof AudioEncoder === 'undefined') return;
    const generation = this.#generation;
    let encoder: AudioEncoder | null = null;
    let expectedNextUs: number | null = null;
    this.#audioClock = new ClockRebaser(AUDIO_REBASE_WINDOW_MS);
    this.#audioSource = openAudioSource(
      track,
      (data) => {
        try {
          if (!this.#running || generation !== this.#generation) return;
          // Chromium's Opus encoder stamps its output by counting samples from the first
          // input, so a gap in the input (the page was starved, or we dropped) would make the
          // timestamps fall behind for good. Start a fresh encoder at the gap instead.
          if (
            encoder &&
            expectedNextUs !== null &&
            data.timestamp - expectedNextUs > AUDIO_GAP_US
          ) {
            log.debug('audio input gap; restarting the Opus encoder');
            this.#closeAudioEncoder();
            encoder = null;
          }
          if (!encoder) {
            encoder = this.#createAudioEncoder(data, generation);
            if (!encoder) return;
          }
          if (encoder !== this.#audioEncoder || encoder.state !== 'configured') return;
          // The chunk timestamps follow the input clock; they are mapped with its offset. A
          // block can only be read once its last sample exists, so its end is what we match.
          this.#audioClock.map(data.timestamp + data.duration, performance.now());
          if (encoder.encodeQueueSize > MAX_AUDIO_ENCODE_QUEUE) return;
          encoder.encode(data);
          expectedNextUs = data.timestamp + data.duration;
        } catch (err) {
          log.warn('audio encode failed', err);
        } finally {
          data.close();
        }
      },
      this.#sourceMode,
    );
  }

  #createAudioEncoder(first: AudioData, generation: number): AudioEncoder | null {
    const encoder = new AudioEncoder({
      output: (chunk, metadata) => {
        if (generation === this.#generation && encoder === this.#audioEncoder) {
          this.#onAudioChunk(chunk, metadata);
        }
      },
      error: (err) => {
        if (encoder !== this.#audioEncoder) return;
        log.warn('audio encoder error; relay continues without audio', err);
        this.#audioEncoder = null;
      },
    });
    try {
      encoder.configure({
        codec: 'opus',
        sampleRate: first.sampleRate,
        numberOfChannels: first.numberOfChannels,
        bitrate: AUDIO_BITRATE,
      });
    } catch (err) {
      log.warn('opus encoder config refused; relay continues without audio', err);
      return null;
    }
    this.#audioEncoder = encoder;
    this.#audioConfig = null;
    this.#audioConfigDue = true;
    return encoder;
  }

  #onAudioChunk(chunk: EncodedAudioChunk, metadata?: EncodedAudioChunkMetadata): void {
    if (metadata?.decoderConfig) {
      this.#audioConfig = toRelayConfig(metadata.decoderConfig);
      this.#audioConfigDue = true;
    }
    const now = performance.now();
    const withConfig =
      this.#audioConfig !== null &&
      (this.#audioConfigDue || now - this.#lastAudioConfigMs >= AUDIO_CONFIG_INTERVAL_MS);
    if (withConfig) {
      this.#audioConfigDue = false;
      this.#lastAudioConfigMs = now;
    }
    const frame = encodeRelayFrame({
      track: 'audio',
      keyframe: chunk.type === 'key',
      seq: this.#audioSeq,
      timestampUs: Math.round(chunk.timestamp + this.#audioClock.offsetUs),
      durationUs: chunk.duration ?? 0,
      ...(withConfig && this.#audioConfig ? { config: this.#audioConfig } : {}),
      data: chunkBytes(chunk),
    });
    this.#audioSeq = (this.#audioSeq + 1) >>> 0;
    this.#emit(frame);
  }

  // ---- output --------------------------------------------------------------------------

  #emit(frame: Uint8Array): void {
    this.#bytes.add(performance.now(), frame.byteLength);
    try {
      this.#send(frame);
    } catch (err) {
      log.warn('relay send failed', err);
    }
  }

  #setError(message: string): void {
    this.#error = message;
    log.error('relay upstream error', message);
    this.#emitState();
  }

  #emitState(): void {
    this.#onStateChange?.({
      running: this.#running,
      codec: this.#encoding?.config.codec ?? null,
      error: this.#error,
    });
  }
}
