/**
 * A small bounded buffer that holds decoded video frames until the audio clock reaches their
 * timestamp, so picture and sound stay in sync. With no audio clock it releases at once. It
 * never holds more than `maxItems` items, `maxSpanUs` of media, or any item longer than
 * `maxWaitMs`: past a bound the oldest item is released (shown late rather than lost).
 */
export interface JitterBufferOptions {
  maxItems: number;
  maxSpanUs: number;
  maxWaitMs: number;
  /** Release this far ahead of the clock (audio output has its own latency). */
  leadUs: number;
}

export const DEFAULT_JITTER_OPTIONS: JitterBufferOptions = {
  maxItems: 10,
  maxSpanUs: 100_000,
  maxWaitMs: 100,
  leadUs: 10_000,
};

interface Entry<T> {
  item: T;
  timestampUs: number;
  enqueuedAtMs: number;
}

export class JitterBuffer<T> {
  readonly #options: JitterBufferOptions;
  #entries: Entry<T>[] = [];

  constructor(options: Partial<JitterBufferOptions> = {}) {
    this.#options = { ...DEFAULT_JITTER_OPTIONS, ...options };
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Adds an item; entries are kept in timestamp order (decoders emit in order anyway). */
  push(item: T, timestampUs: number, nowMs: number): void {
    const entry = { item, timestampUs, enqueuedAtMs: nowMs };
    let at = this.#entries.length;
    while (at > 0 && this.#entries[at - 1]!.timestampUs > timestampUs) at--;
    this.#entries.splice(at, 0, entry);
  }

  /**
   * The items to release now, oldest first. `clockUs` is the audio clock (null: no audio, so
   * everything goes). Bounds are enforced here, so call it after every push.
   */
  pull(clockUs: number | null, nowMs: number): T[] {
    const out: T[] = [];
    const { maxItems, maxSpanUs, maxWaitMs, leadUs } = this.#options;
    while (this.#entries.length > 0) {
      const head = this.#entries[0]!;
      const tail = this.#entries[this.#entries.length - 1]!;
      const due =
        clockUs === null ||
        head.timestampUs <= clockUs + leadUs ||
        this.#entries.length > maxItems ||
        tail.timestampUs - head.timestampUs > maxSpanUs ||
        nowMs - head.enqueuedAtMs >= maxWaitMs;
      if (!due) break;
      this.#entries.shift();
      out.push(head.item);
    }
    return out;
  }

  /** When the head would become due by waiting alone (ms from now), or null when empty. */
  nextDeadlineMs(nowMs: number): number | null {
    const head = this.#entries[0];
    if (!head) return null;
    return Math.max(0, head.enqueuedAtMs + this.#options.maxWaitMs - nowMs);
  }

  /** Empties the buffer and returns what it held (the caller closes frames). */
  clear(): T[] {
    const items = this.#entries.map((e) => e.item);
    this.#entries = [];
    return items;
  }
}
