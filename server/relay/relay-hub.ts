import { RELAY_MAX_FRAME_BYTES, type RelayFrameHeader } from '../../shared/index';
import { decideChunk, type ViewerStreamState } from './backlog-policy';
import { GopCache, type RelayChunk } from './gop-cache';

/** Where one relay viewer's bytes go. `backlogBytes` is what is still queued, unsent. */
export interface RelaySink {
  readonly id: string;
  /** An egress output (HLS, restream, recording): it creates demand but is not a viewer. */
  readonly egress?: boolean;
  send(bytes: Uint8Array): void;
  backlogBytes(): number;
}

export interface RelayHubOptions {
  gopCacheBytes: number;
  viewerBacklogBytes: number;
  /** The room's upstream byte-rate bound, in kbit/s (1 s of burst). */
  maxRoomKbps: number;
  now?: () => number;
  /** The relay-viewer count went 0 → >0 or >0 → 0. */
  onDemandChange?: (active: boolean, relayViewers: number) => void;
  /** Ask the broadcaster for a keyframe; the hub has already rate-limited it. */
  onKeyframeNeeded?: () => void;
  /** At most one keyframe request per this many ms (default 1000). */
  keyframeIntervalMs?: number;
  /** Each chunk offered to one viewer: sent, or dropped for that viewer's backlog (metrics). */
  onDelivery?: (decision: 'send' | 'drop', bytes: number) => void;
}

export type PublishResult =
  { ok: true; sent: number; dropped: number } | { ok: false; reason: 'RATE_LIMITED' };

export interface ViewerRelayStats {
  sent: number;
  dropped: number;
  awaitingKeyframe: boolean;
}

interface Subscriber extends ViewerStreamState, ViewerRelayStats {
  sink: RelaySink;
}

export const DEFAULT_KEYFRAME_INTERVAL_MS = 1000;

/**
 * The relay for one room, with no transport in it: the broadcaster's chunks come in through
 * `publish`, go into the GOP cache and out to every subscribed sink, each with its own backlog
 * policy, so a slow viewer only ever loses its own frames.
 *
 * Memory bounds: the GOP cache (options.gopCacheBytes); each sink's queue (policy:
 * 2 × viewerBacklogBytes + one chunk); subscribers are bounded by the room's viewer limit.
 */
export class RelayHub {
  readonly #options: RelayHubOptions;
  readonly #now: () => number;
  readonly #gop: GopCache;
  readonly #subscribers = new Map<string, Subscriber>();
  /** Byte-rate token bucket. */
  readonly #rateCapacity: number;
  readonly #ratePerMs: number;
  #rateTokens: number;
  #rateUpdatedAt: number;
  /** A video chunk was refused upstream: later deltas are useless until the next keyframe. */
  #videoBroken = false;
  #lastKeyframeRequestAt = -Infinity;
  #chunksIn = 0;
  #bytesIn = 0;
  #refused = 0;

  constructor(options: RelayHubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#gop = new GopCache(options.gopCacheBytes);
    const bytesPerSecond = (options.maxRoomKbps * 1000) / 8;
    // One second of burst, and never less than one maximal chunk.
    this.#rateCapacity = Math.max(bytesPerSecond, RELAY_MAX_FRAME_BYTES);
    this.#ratePerMs = bytesPerSecond / 1000;
    this.#rateTokens = this.#rateCapacity;
    this.#rateUpdatedAt = this.#now();
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Relay viewers only (egress sinks excluded), for relay_demand. */
  get viewerCount(): number {
    let n = 0;
    for (const sub of this.#subscribers.values()) if (!sub.sink.egress) n += 1;
    return n;
  }

  get active(): boolean {
    return this.#subscribers.size > 0;
  }

  has(viewerId: string): boolean {
    return this.#subscribers.has(viewerId);
  }

  viewerStats(viewerId: string): ViewerRelayStats | undefined {
    const s = this.#subscribers.get(viewerId);
    return s && { sent: s.sent, dropped: s.dropped, awaitingKeyframe: s.awaitingKeyframe };
  }

  stats() {
    return {
      subscribers: this.#subscribers.size,
      chunksIn: this.#chunksIn,
      bytesIn: this.#bytesIn,
      refused: this.#refused,
      gopBytes: this.#gop.byteLength,
      gopChunks: this.#gop.chunkCount,
    };
  }

  /**
   * Starts a viewer: the GOP cache first (so it starts at a keyframe), then live chunks.
   * With no keyframe cached, the broadcaster is asked for one. Re-subscribing is a no-op.
   */
  subscribe(sink: RelaySink): void {
    if (this.#subscribers.has(sink.id)) return;
    const sub: Subscriber = { sink, awaitingKeyframe: true, sent: 0, dropped: 0 };
    this.#subscribers.set(sink.id, sub);
    // Demand first: the broadcaster starts its encoder, then hears the keyframe request.
    if (this.#subscribers.size === 1) this.#options.onDemandChange?.(true, 1);
    for (const chunk of this.#gop.snapshot()) this.#deliver(sub, chunk);
    if (!this.#gop.hasKeyframe) this.requestKeyframe();
  }

  /**
   * Swaps the sink behind an existing subscription and restarts it from the GOP cache, with no
   * demand change: egress uses it to restart ffmpeg without the broadcaster's encoder stopping.
   * Subscribes when the id is unknown.
   */
  replace(sink: RelaySink): void {
    const existing = this.#subscribers.get(sink.id);
    if (!existing) {
      this.subscribe(sink);
      return;
    }
    const sub: Subscriber = {
      sink,
      awaitingKeyframe: true,
      sent: existing.sent,
      dropped: existing.dropped,
    };
    this.#subscribers.set(sink.id, sub);
    for (const chunk of this.#gop.snapshot()) this.#deliver(sub, chunk);
    if (!this.#gop.hasKeyframe) this.requestKeyframe();
  }

  unsubscribe(viewerId: string): boolean {
    if (!this.#subscribers.delete(viewerId)) return false;
    if (this.#subscribers.size === 0) this.#options.onDemandChange?.(false, 0);
    return true;
  }

  /** One chunk from the broadcaster, already validated with readRelayHeader. */
  publish(header: RelayFrameHeader, bytes: Uint8Array): PublishResult {
    if (!this.#takeBytes(bytes.byteLength)) {
      this.#refused += 1;
      if (header.track === 'video') {
        this.#videoBroken = true;
        this.requestKeyframe();
      }
      return { ok: false, reason: 'RATE_LIMITED' };
    }
    this.#chunksIn += 1;
    this.#bytesIn += bytes.byteLength;
    if (header.track === 'video') {
      if (header.keyframe) this.#videoBroken = false;
      else if (this.#videoBroken) return { ok: true, sent: 0, dropped: this.#subscribers.size };
    }
    const chunk: RelayChunk = { header, bytes };
    this.#gop.push(chunk);
    let sent = 0;
    let dropped = 0;
    for (const sub of this.#subscribers.values()) {
      if (this.#deliver(sub, chunk)) sent += 1;
      else dropped += 1;
    }
    return { ok: true, sent, dropped };
  }

  /** Rate-limited to one per keyframeIntervalMs; returns whether the broadcaster was asked. */
  requestKeyframe(): boolean {
    const now = this.#now();
    const interval = this.#options.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS;
    if (now - this.#lastKeyframeRequestAt < interval) return false;
    this.#lastKeyframeRequestAt = now;
    this.#options.onKeyframeNeeded?.();
    return true;
  }

  /** A new broadcaster connection: the cached stream and every viewer's position are void. */
  resetSource(): void {
    this.#gop.clear();
    this.#videoBroken = false;
    for (const sub of this.#subscribers.values()) sub.awaitingKeyframe = true;
  }

  /** The room is gone: forget everything without demand callbacks. */
  close(): void {
    this.#subscribers.clear();
    this.#gop.clear();
  }

  #deliver(sub: Subscriber, chunk: RelayChunk): boolean {
    const limit = this.#options.viewerBacklogBytes;
    const decision = decideChunk(sub, chunk.header, sub.sink.backlogBytes(), limit);
    this.#options.onDelivery?.(decision, chunk.bytes.byteLength);
    if (decision === 'drop') {
      sub.dropped += 1;
      return false;
    }
    sub.sent += 1;
    sub.sink.send(chunk.bytes);
    return true;
  }

  #takeBytes(n: number): boolean {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#rateUpdatedAt);
    this.#rateUpdatedAt = now;
    this.#rateTokens = Math.min(this.#rateCapacity, this.#rateTokens + elapsed * this.#ratePerMs);
    if (this.#rateTokens < n) return false;
    this.#rateTokens -= n;
    return true;
  }
}
