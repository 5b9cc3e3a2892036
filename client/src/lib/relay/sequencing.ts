/**
 * Pure per-track bookkeeping for the relay player: which chunks can be decoded, how many were
 * lost (sequence gaps), and when a keyframe must be asked for.
 */
export interface GateInput {
  seq: number;
  keyframe: boolean;
}

export interface GateDecision {
  decode: boolean;
  /** Chunks missing between the previous one and this one. */
  lost: number;
  /** The decoder can't continue until a keyframe arrives; ask the broadcaster for one. */
  needKeyframe: boolean;
}

const HALF_RANGE = 0x80000000;

export class TrackGate {
  readonly #requiresKeyframe: boolean;
  #lastSeq: number | null = null;
  #waitingForKeyframe: boolean;
  #received = 0;
  #lost = 0;

  /** Video needs a keyframe to start and after a gap; audio (Opus) doesn't. */
  constructor(requiresKeyframe: boolean) {
    this.#requiresKeyframe = requiresKeyframe;
    this.#waitingForKeyframe = requiresKeyframe;
  }

  get received(): number {
    return this.#received;
  }

  get lost(): number {
    return this.#lost;
  }

  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  accept(input: GateInput): GateDecision {
    const seq = input.seq >>> 0;
    let lost = 0;
    if (this.#lastSeq !== null) {
      const gap = (seq - ((this.#lastSeq + 1) >>> 0)) >>> 0;
      if (gap >= HALF_RANGE) {
        // Behind us: a duplicate or a restarted sender. Only a keyframe resynchronises.
        if (!input.keyframe) return { decode: false, lost: 0, needKeyframe: false };
      } else {
        lost = gap;
      }
    }
    this.#lastSeq = seq;
    this.#received++;
    this.#lost += lost;
    if (this.#requiresKeyframe && lost > 0 && !input.keyframe) this.#waitingForKeyframe = true;
    if (this.#waitingForKeyframe) {
      if (!input.keyframe) return { decode: false, lost, needKeyframe: true };
      this.#waitingForKeyframe = false;
    }
    return { decode: true, lost, needKeyframe: false };
  }

  /** The decoder failed or was reset: drop deltas until the next keyframe. */
  reset(): void {
    if (this.#requiresKeyframe) this.#waitingForKeyframe = true;
  }
}

/** Allows one action per `intervalMs` (keyframe requests: at most one a second). */
export class RateLimiter {
  readonly #intervalMs: number;
  #lastMs = -Infinity;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  tryAcquire(nowMs: number): boolean {
    if (nowMs - this.#lastMs < this.#intervalMs) return false;
    this.#lastMs = nowMs;
    return true;
  }
}

/** Sums values over a sliding window (bytes → bitrate, frames → fps), with a bounded history. */
export class RateMeter {
  readonly #windowMs: number;
  readonly #maxSamples: number;
  #samples: { at: number; value: number }[] = [];

  constructor(windowMs = 1000, maxSamples = 1024) {
    this.#windowMs = windowMs;
    this.#maxSamples = maxSamples;
  }

  add(nowMs: number, value: number): void {
    this.#samples.push({ at: nowMs, value });
    if (this.#samples.length > this.#maxSamples) this.#samples.shift();
  }

  /** Per-second rate over the window ending at `nowMs`. */
  perSecond(nowMs: number): number {
    const from = nowMs - this.#windowMs;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]!.at <= from) drop++;
    if (drop > 0) this.#samples.splice(0, drop);
    let sum = 0;
    for (const s of this.#samples) sum += s.value;
    return (sum * 1000) / this.#windowMs;
  }
}

/** Loss in percent from counts, null before anything arrived. */
export function lossPercent(lost: number, received: number): number | null {
  const total = lost + received;
  if (total === 0) return null;
  return Math.min(100, Math.max(0, (lost * 100) / total));
}

/**
 * Frames handed to an encoder and not yet seen at its output. Chromium's software encoders run
 * behind a background queue that `encodeQueueSize` does not count, so this is the real backlog.
 * Outputs come in order, so an output settles every frame up to its timestamp (frames the
 * encoder dropped itself included); entries older than `staleMs` are forgotten so a silent
 * encoder can't block the upstream for good. Bounded by `maxEntries`.
 */
export class InFlightFrames {
  readonly #staleMs: number;
  readonly #maxEntries: number;
  #entries: { timestampUs: number; atMs: number }[] = [];

  constructor(staleMs = 1000, maxEntries = 64) {
    this.#staleMs = staleMs;
    this.#maxEntries = maxEntries;
  }

  submitted(timestampUs: number, nowMs: number): void {
    this.#entries.push({ timestampUs, atMs: nowMs });
    if (this.#entries.length > this.#maxEntries) this.#entries.shift();
  }

  output(timestampUs: number): void {
    let settled = 0;
    while (settled < this.#entries.length && this.#entries[settled]!.timestampUs <= timestampUs) {
      settled++;
    }
    if (settled > 0) this.#entries.splice(0, settled);
  }

  count(nowMs: number): number {
    let stale = 0;
    while (stale < this.#entries.length && nowMs - this.#entries[stale]!.atMs > this.#staleMs) {
      stale++;
    }
    if (stale > 0) this.#entries.splice(0, stale);
    return this.#entries.length;
  }

  clear(): void {
    this.#entries = [];
  }
}
