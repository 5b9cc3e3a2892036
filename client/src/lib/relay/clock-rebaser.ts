/**
 * Maps a track's own timestamps (camera: capture ticks, canvas: µs since capture began, mic:
 * roughly performance.now) onto performance.now() in µs, so audio and video share one clock and
 * a source swap keeps timestamps continuous.
 *
 * offset = min(now − ts) over a window: the smallest observed read delay is the best estimate of
 * "captured just now". The minimum is re-taken every `windowMs`, so a slowly drifting source
 * clock can't pin it forever.
 */
export class ClockRebaser {
  readonly #windowMs: number;
  #offsetUs: number | null = null;
  #windowMinUs = Infinity;
  #windowStartMs = 0;

  constructor(windowMs = 5000) {
    this.#windowMs = windowMs;
  }

  /** Observe one raw frame read at `nowMs`; returns its timestamp on the performance.now clock. */
  map(timestampUs: number, nowMs: number): number {
    const delta = nowMs * 1000 - timestampUs;
    if (this.#offsetUs === null) {
      this.#offsetUs = delta;
      this.#windowStartMs = nowMs;
    }
    this.#windowMinUs = Math.min(this.#windowMinUs, delta);
    if (delta < this.#offsetUs) this.#offsetUs = delta;
    if (nowMs - this.#windowStartMs >= this.#windowMs) {
      this.#offsetUs = this.#windowMinUs;
      this.#windowMinUs = Infinity;
      this.#windowStartMs = nowMs;
    }
    return Math.round(timestampUs + this.#offsetUs);
  }

  /** The current offset (µs), for chunks whose timestamps came from mapped inputs' clock. */
  get offsetUs(): number {
    return this.#offsetUs ?? 0;
  }
}
