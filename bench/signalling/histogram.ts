/**
 * A fixed-size latency histogram with log-spaced buckets (1 % wide), so millions of samples
 * cost a few KB, histograms from many workers merge by addition, and percentiles stay within
 * about 1 % of the exact value.
 */
const MIN_MS = 0.001;
const MAX_MS = 600_000;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKET_COUNT = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GROWTH) + 1;

/** Sparse wire form: `[bucketIndex, count]` pairs plus exact extremes. */
export interface HistogramJson {
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const index = Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH);
  return Math.min(BUCKET_COUNT - 1, index);
}

/** Upper edge of a bucket: a percentile is never reported lower than it really was. */
function bucketUpperMs(index: number): number {
  return MIN_MS * GROWTH ** index;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    // Clock reads in different processes can disagree by a few µs; a negative delta is ~0.
    const value = Math.max(0, ms);
    this.#counts[bucketOf(value)]! += 1;
    this.#count += 1;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  merge(other: LatencyHistogram | HistogramJson): void {
    const json = other instanceof LatencyHistogram ? other.toJSON() : other;
    for (const [index, count] of json.buckets) {
      if (index >= 0 && index < BUCKET_COUNT) this.#counts[index]! += count;
    }
    this.#count += json.count;
    this.#sum += json.sum;
    if (json.count > 0) {
      this.#min = Math.min(this.#min, json.min);
      this.#max = Math.max(this.#max, json.max);
    }
  }

  /** `p` in [0, 100]. Returns 0 for an empty histogram. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketUpperMs(i)));
    }
    return this.#max;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      mean: this.#count === 0 ? 0 : this.#sum / this.#count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.#count === 0 ? 0 : this.#max,
    };
  }

  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = [];
    this.#counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    return { buckets, count: this.#count, sum: this.#sum, min: this.#min, max: this.#max };
  }

  static fromJSON(json: HistogramJson): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(json);
    return histogram;
  }
}
