import { decodeRelayFrame, type RelayDecoderConfig, type RelayFrame } from '../../shared/index';
import type { RelaySink } from '../relay/relay-hub';
import { audioCodecOf, MkvMux, videoCodecOf, type MkvMuxTracks } from './mkv-mux';

/** What the stream carries; decides copy vs transcode and the audio mapping. */
export interface FeedSource {
  videoCodec: string;
  width: number;
  height: number;
  hasAudio: boolean;
}

export interface RelayMkvFeedOptions {
  id: string;
  /** Matroska bytes for the consumer (ffmpeg's stdin, a file). */
  onData: (bytes: Uint8Array) => void;
  /** What the consumer still holds unwritten, for the relay's backlog policy. */
  consumerBacklog: () => number;
  /** A stream began at a keyframe (the consumer may need to be (re)configured for it). */
  onStart: (source: FeedSource) => void;
  /**
   * The stream cannot go on as one Matroska file: the video config or clock changed, or the mux
   * failed. The owner ends this consumer and starts a fresh feed + consumer.
   */
  onBreak: (reason: string) => void;
  /** How long to hold the first keyframe for an audio config before going video-only. */
  audioWaitMs?: number;
  now?: () => number;
}

/** Held frames while waiting for the audio config; a 1.5 s 1080p GOP stays under this. */
const MAX_HELD_BYTES = 4 * 1024 * 1024;
/** A forward jump this big is a new clock (a reconnected broadcaster), not a pause. */
const MAX_FORWARD_JUMP_US = 30_000_000;
/** Video this far ahead of the last audio means the audio track has stopped. */
const AUDIO_STALL_US = 3_000_000;

function sameVideoConfig(a: RelayDecoderConfig, b: RelayDecoderConfig): boolean {
  return (
    a.codec === b.codec &&
    a.description === b.description &&
    a.codedWidth === b.codedWidth &&
    a.codedHeight === b.codedHeight
  );
}

/**
 * Turns relay chunks into one continuous Matroska stream: it starts at a video keyframe that
 * carries a decoder config, decides whether there is audio (waiting briefly for its config),
 * rebases timestamps to start at zero, and reports a break when the stream can no longer stay one
 * file. Chunks that cannot be decoded are ignored (the relay already validated the header).
 */
export class RelayMkvFeed implements RelaySink {
  readonly id: string;
  readonly egress = true;
  readonly #opts: RelayMkvFeedOptions;
  readonly #now: () => number;
  #mux: MkvMux | null = null;
  #videoConfig: RelayDecoderConfig | null = null;
  #audioConfig: RelayDecoderConfig | null = null;
  #baseUs = 0;
  #lastVideoUs = -Infinity;
  #lastAudioUs = -Infinity;
  /** Frames from a held keyframe on, while we wait for the audio config. */
  #held: RelayFrame[] = [];
  #heldBytes = 0;
  #heldSince = 0;
  /** An audio frame arrived after the held keyframe: the audio is live, not a cached config. */
  #liveAudio = false;
  #broken = false;
  #framesIn = 0;

  constructor(opts: RelayMkvFeedOptions) {
    this.id = opts.id;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get started(): boolean {
    return this.#mux !== null;
  }

  get framesIn(): number {
    return this.#framesIn;
  }

  backlogBytes(): number {
    return (this.#mux?.queuedBytes ?? 0) + this.#heldBytes + this.#opts.consumerBacklog();
  }

  send(bytes: Uint8Array): void {
    if (this.#broken) return;
    const decoded = decodeRelayFrame(bytes);
    if (!decoded.ok) return;
    const frame = decoded.frame;
    this.#framesIn += 1;
    if (frame.track === 'audio' && frame.config && audioCodecOf(frame.config.codec)) {
      this.#audioConfig = frame.config;
    }
    if (this.#mux) {
      this.#write(frame);
      return;
    }
    this.#hold(frame);
  }

  /** Ends the Matroska stream cleanly (its consumer sees EOF after the last packet). */
  async finish(): Promise<void> {
    this.#broken = true;
    this.#held = [];
    this.#heldBytes = 0;
    await this.#mux?.finalize();
  }

  /** Drops the stream without flushing. */
  cancel(): void {
    this.#broken = true;
    this.#held = [];
    this.#heldBytes = 0;
    this.#mux?.cancel();
  }

  #hold(frame: RelayFrame): void {
    if (frame.track === 'video' && frame.keyframe && frame.config) {
      if (!videoCodecOf(frame.config.codec)) return;
      // The wait for audio counts from the first held keyframe: with keyframes more often than
      // audioWaitMs, restarting it at each one would never start a stream whose audio lags.
      if (this.#held.length === 0) this.#heldSince = this.#now();
      this.#held = [frame];
      this.#heldBytes = frame.data.byteLength;
      this.#videoConfig = frame.config;
      this.#liveAudio = false;
    } else if (this.#held.length > 0) {
      if (frame.track === 'audio' && frame.timestampUs >= (this.#held[0]?.timestampUs ?? 0)) {
        this.#liveAudio = true;
      }
      this.#held.push(frame);
      this.#heldBytes += frame.data.byteLength;
    } else {
      return;
    }
    const waited = this.#now() - this.#heldSince;
    if (
      (this.#audioConfig !== null && this.#liveAudio) ||
      waited >= (this.#opts.audioWaitMs ?? 1500) ||
      this.#heldBytes > MAX_HELD_BYTES
    ) {
      this.#begin();
    }
  }

  #begin(): void {
    const first = this.#held[0];
    const video = this.#videoConfig;
    if (!first || !video) return;
    const tracks: MkvMuxTracks = { video, audio: this.#liveAudio ? this.#audioConfig : null };
    try {
      this.#mux = new MkvMux({
        tracks,
        onData: this.#opts.onData,
        onError: (err) => this.#break(`mux: ${err.message}`),
      });
    } catch (err) {
      this.#break(`mux: ${(err as Error).message}`);
      return;
    }
    this.#baseUs = first.timestampUs;
    this.#opts.onStart({
      videoCodec: video.codec,
      width: video.codedWidth ?? 0,
      height: video.codedHeight ?? 0,
      hasAudio: this.#mux.hasAudio,
    });
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const frame of held) this.#write(frame);
  }

  #write(frame: RelayFrame): void {
    const mux = this.#mux;
    if (!mux || this.#broken) return;
    const durationS = frame.durationUs / 1e6;
    if (frame.track === 'video') {
      if (frame.keyframe && frame.config && this.#videoConfig) {
        if (!sameVideoConfig(frame.config, this.#videoConfig)) {
          this.#break('video config changed');
          return;
        }
      }
      const t = frame.timestampUs;
      if (
        t <= this.#lastVideoUs ||
        t - Math.max(this.#lastVideoUs, this.#baseUs) > MAX_FORWARD_JUMP_US
      ) {
        if (this.#lastVideoUs !== -Infinity) {
          this.#break(`video clock jumped (${this.#lastVideoUs} → ${t}, key ${frame.keyframe})`);
          return;
        }
      }
      // The muxer interleaves by waiting for every track: audio that stops would hold video forever.
      if (mux.hasAudio && t - Math.max(this.#lastAudioUs, this.#baseUs) > AUDIO_STALL_US) {
        this.#break('audio stopped');
        return;
      }
      this.#lastVideoUs = t;
      mux.addVideo(frame.data, frame.keyframe, (t - this.#baseUs) / 1e6, durationS);
      return;
    }
    // Audio before the first keyframe, or out of order, is dropped (Matroska needs order).
    if (!mux.hasAudio) return;
    const t = frame.timestampUs;
    if (t < this.#baseUs || t <= this.#lastAudioUs) return;
    this.#lastAudioUs = t;
    mux.addAudio(frame.data, (t - this.#baseUs) / 1e6, durationS);
  }

  #break(reason: string): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#opts.onBreak(reason);
  }
}
