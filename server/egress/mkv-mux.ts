import {
  AppendOnlyStreamTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  MkvOutputFormat,
  Output,
  type AudioCodec,
  type VideoCodec,
} from 'mediabunny';
import type { RelayDecoderConfig } from '../../shared/index';

/** WebCodecs codec string → mediabunny codec name; null when Matroska/ffmpeg can't take it. */
export function videoCodecOf(codec: string): VideoCodec | null {
  if (codec.startsWith('avc1') || codec.startsWith('avc3')) return 'avc';
  if (codec.startsWith('hvc1') || codec.startsWith('hev1')) return 'hevc';
  if (codec.startsWith('vp09')) return 'vp9';
  if (codec === 'vp8') return 'vp8';
  if (codec.startsWith('av01')) return 'av1';
  return null;
}

export function audioCodecOf(codec: string): AudioCodec | null {
  if (codec === 'opus') return 'opus';
  if (codec.startsWith('mp4a')) return 'aac';
  return null;
}

export interface MkvMuxTracks {
  video: RelayDecoderConfig;
  audio: RelayDecoderConfig | null;
}

export interface MkvMuxOptions {
  tracks: MkvMuxTracks;
  /** Matroska bytes, in order; the consumer applies its own backpressure accounting. */
  onData: (bytes: Uint8Array) => void;
  /** A mediabunny failure (bad packet, codec mismatch): this mux is dead, start a new one. */
  onError: (err: Error) => void;
  /** Short clusters keep ffmpeg's read latency low (seconds). */
  clusterSeconds?: number;
}

/**
 * One Matroska stream, append-only, built packet by packet with mediabunny. Adds are chained so
 * packets keep their order without the caller awaiting; `queuedBytes` bounds that chain.
 */
export class MkvMux {
  readonly #output: Output;
  readonly #video: EncodedVideoPacketSource;
  readonly #audio: EncodedAudioPacketSource | null;
  readonly #videoMeta: EncodedVideoChunkMetadata;
  readonly #audioMeta: EncodedAudioChunkMetadata | null;
  readonly #onError: (err: Error) => void;
  #chain: Promise<void>;
  #queuedBytes = 0;
  #videoConfigSent = false;
  #audioConfigSent = false;
  #failed = false;
  #finalized = false;

  constructor(opts: MkvMuxOptions) {
    const videoCodec = videoCodecOf(opts.tracks.video.codec);
    if (!videoCodec) throw new Error(`unsupported video codec ${opts.tracks.video.codec}`);
    const audioCodec = opts.tracks.audio ? audioCodecOf(opts.tracks.audio.codec) : null;
    this.#onError = opts.onError;
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        opts.onData(chunk);
      },
    });
    this.#output = new Output({
      format: new MkvOutputFormat({
        appendOnly: true,
        minimumClusterDuration: opts.clusterSeconds ?? 0.1,
      }),
      target: new AppendOnlyStreamTarget(writable),
    });
    this.#video = new EncodedVideoPacketSource(videoCodec);
    this.#output.addVideoTrack(this.#video);
    this.#videoMeta = { decoderConfig: toVideoDecoderConfig(opts.tracks.video) };
    if (audioCodec && opts.tracks.audio) {
      this.#audio = new EncodedAudioPacketSource(audioCodec);
      this.#output.addAudioTrack(this.#audio);
      this.#audioMeta = { decoderConfig: toAudioDecoderConfig(opts.tracks.audio) };
    } else {
      this.#audio = null;
      this.#audioMeta = null;
    }
    this.#chain = this.#output.start().catch((err: unknown) => this.#fail(err));
  }

  get hasAudio(): boolean {
    return this.#audio !== null;
  }

  /** Bytes accepted but not yet handed to mediabunny. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** `timestampS` is relative to the stream start (≥ 0). */
  addVideo(data: Uint8Array, keyframe: boolean, timestampS: number, durationS: number): void {
    if (this.#failed || this.#finalized) return;
    const meta = this.#videoConfigSent ? undefined : this.#videoMeta;
    this.#videoConfigSent = true;
    const packet = new EncodedPacket(data, keyframe ? 'key' : 'delta', timestampS, durationS);
    this.#enqueue(data.byteLength, () => this.#video.add(packet, meta));
  }

  addAudio(data: Uint8Array, timestampS: number, durationS: number): void {
    const audio = this.#audio;
    if (!audio || this.#failed || this.#finalized) return;
    const meta = this.#audioConfigSent ? undefined : (this.#audioMeta ?? undefined);
    this.#audioConfigSent = true;
    const packet = new EncodedPacket(data, 'key', timestampS, durationS);
    this.#enqueue(data.byteLength, () => audio.add(packet, meta));
  }

  /** Flushes what is queued and ends the stream (the consumer then sees its end). */
  async finalize(): Promise<void> {
    if (this.#finalized) return;
    this.#finalized = true;
    await this.#chain;
    if (this.#failed) return;
    await this.#output.finalize().catch((err: unknown) => this.#fail(err));
  }

  /** Drops everything queued; for a consumer that is gone. */
  cancel(): void {
    this.#finalized = true;
    this.#failed = true;
    void this.#output.cancel().catch(() => undefined);
  }

  #enqueue(bytes: number, add: () => Promise<void>): void {
    this.#queuedBytes += bytes;
    this.#chain = this.#chain.then(async () => {
      try {
        if (!this.#failed) await add();
      } catch (err) {
        this.#fail(err);
      } finally {
        this.#queuedBytes -= bytes;
      }
    });
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError(err instanceof Error ? err : new Error(String(err)));
  }
}

function toVideoDecoderConfig(config: RelayDecoderConfig): VideoDecoderConfig {
  const out: VideoDecoderConfig = { codec: config.codec };
  if (config.codedWidth) out.codedWidth = config.codedWidth;
  if (config.codedHeight) out.codedHeight = config.codedHeight;
  if (config.description) out.description = Buffer.from(config.description, 'base64');
  return out;
}

function toAudioDecoderConfig(config: RelayDecoderConfig): AudioDecoderConfig {
  const out: AudioDecoderConfig = {
    codec: config.codec,
    sampleRate: config.sampleRate ?? 48000,
    numberOfChannels: config.numberOfChannels ?? 2,
  };
  if (config.description) out.description = Buffer.from(config.description, 'base64');
  return out;
}
