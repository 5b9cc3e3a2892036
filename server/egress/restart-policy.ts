/** Exponential backoff for restarting ffmpeg; a run that lasted `stableMs` resets it. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  stableMs: number;
}

/** The mirror comes back within 2 s of a crash, every time. */
export const HLS_RESTART_POLICY: BackoffPolicy = {
  initialMs: 250,
  maxMs: 2000,
  factor: 2,
  stableMs: 30_000,
};

/** A restream target that refuses us is retried more patiently. */
export const RTMP_RETRY_POLICY: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  stableMs: 30_000,
};

/** Delay before restart number `attempt` (0-based count of failures in a row). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number): number {
  const delay = policy.initialMs * policy.factor ** Math.max(0, attempt);
  return Math.min(policy.maxMs, Math.round(delay));
}

/** Tracks failures in a row: a long enough run counts as recovered. */
export class RestartTracker {
  readonly #policy: BackoffPolicy;
  #failuresInRow = 0;

  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }

  get failuresInRow(): number {
    return this.#failuresInRow;
  }

  /** A run ended in failure after `ranForMs`; returns the delay before the next start. */
  failed(ranForMs: number): number {
    if (ranForMs >= this.#policy.stableMs) this.#failuresInRow = 0;
    const delay = backoffDelayMs(this.#policy, this.#failuresInRow);
    this.#failuresInRow += 1;
    return delay;
  }

  reset(): void {
    this.#failuresInRow = 0;
  }
}
