import type { RelayFrameHeader } from '../../shared/index';

/** One chunk as it arrived from the broadcaster: the parsed header and the untouched bytes. */
export interface RelayChunk {
  header: RelayFrameHeader;
  bytes: Uint8Array;
}

/** Audio chunks kept while no video keyframe is cached (about 1 s of 20 ms Opus frames). */
export const GOP_AUDIO_ONLY_CHUNKS = 50;
/** Hard cap on cached chunks, whatever their size (a 2 s GOP at 60 fps plus audio is ~220). */
export const GOP_MAX_CHUNKS = 2000;

/**
 * What a viewer needs to start at once: the latest video keyframe (it carries the decoder
 * config) and every chunk since, audio included, in arrival order. The latest audio chunk that
 * carried the audio decoder config is kept aside so a late joiner can always configure audio.
 *
 * Bounds: at most `maxBytes` bytes and GOP_MAX_CHUNKS chunks. A GOP that outgrows either is
 * dropped whole (a truncated GOP would decode wrongly); the cache then waits for the next
 * keyframe. Without a keyframe only the last GOP_AUDIO_ONLY_CHUNKS audio chunks are kept.
 */
export class GopCache {
  readonly #maxBytes: number;
  #chunks: RelayChunk[] = [];
  #bytes = 0;
  #hasKeyframe = false;
  #audioConfig: RelayChunk | undefined;
  /** Whether #audioConfig is also one of #chunks (then it is not sent or counted twice). */
  #audioConfigCached = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** True when the cache starts at a video keyframe, so a new viewer can decode at once. */
  get hasKeyframe(): boolean {
    return this.#hasKeyframe;
  }

  /** Bytes held, the aside audio config chunk included. */
  get byteLength(): number {
    return this.#bytes + this.#audioConfigBytes();
  }

  get chunkCount(): number {
    return this.#chunks.length;
  }

  push(chunk: RelayChunk): void {
    const { header } = chunk;
    if (header.track === 'audio') {
      if (header.hasConfig) {
        this.#audioConfig = chunk;
        this.#audioConfigCached = true;
      }
      this.#append(chunk);
      if (!this.#hasKeyframe) this.#trimAudioOnly();
      return;
    }
    if (header.keyframe) {
      this.#dropChunks();
      this.#hasKeyframe = true;
      this.#append(chunk);
      return;
    }
    // A delta is useless without the keyframe it depends on.
    if (this.#hasKeyframe) this.#append(chunk);
  }

  /** Chunks for a new viewer, in the order to send them. */
  snapshot(): RelayChunk[] {
    const config = this.#audioConfig;
    if (config && !this.#audioConfigCached) return [config, ...this.#chunks];
    return [...this.#chunks];
  }

  /** The source changed (a new broadcaster socket): nothing cached applies any more. */
  clear(): void {
    this.#dropChunks();
    this.#hasKeyframe = false;
    this.#audioConfig = undefined;
  }

  #append(chunk: RelayChunk): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.bytes.byteLength;
    if (this.byteLength > this.#maxBytes || this.#chunks.length > GOP_MAX_CHUNKS) {
      // Too big to serve: drop the GOP, keep only the audio config for the next one.
      this.#dropChunks();
      this.#hasKeyframe = false;
      if (this.#audioConfigBytes() > this.#maxBytes) this.#audioConfig = undefined;
    }
  }

  #trimAudioOnly(): void {
    const excess = this.#chunks.length - GOP_AUDIO_ONLY_CHUNKS;
    if (excess <= 0) return;
    for (const dropped of this.#chunks.splice(0, excess)) {
      this.#bytes -= dropped.bytes.byteLength;
      if (dropped === this.#audioConfig) this.#audioConfigCached = false;
    }
  }

  #dropChunks(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#audioConfigCached = false;
  }

  #audioConfigBytes(): number {
    const config = this.#audioConfig;
    if (!config || this.#audioConfigCached) return 0;
    return config.bytes.byteLength;
  }
}
