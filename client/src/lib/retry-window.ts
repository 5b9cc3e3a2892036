export interface RetryWindowOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  /** How long after `open()` retries may still start. */
  windowMs: number;
}

/**
 * Retries with a doubling delay (first → max) while a window opened by `open()` lasts: a viewer
 * rejoining a room that is not back yet, a broadcaster reclaiming one whose server is away.
 */
export class RetryWindow {
  readonly #options: RetryWindowOptions;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delayMs: number;
  #deadline: number | null = null;

  constructor(options: RetryWindowOptions) {
    this.#options = options;
    this.#delayMs = options.firstDelayMs;
  }

  /** Starts the window afresh; a pending retry is cancelled. */
  open(): void {
    this.cancel();
    this.#deadline = Date.now() + this.#options.windowMs;
  }

  /**
   * Runs `attempt` after the next delay. False when no window is open or the next delay would
   * end past it (the caller gives up); a retry already pending counts as scheduled.
   */
  schedule(attempt: () => void): boolean {
    if (this.#timer) return true;
    if (this.#deadline === null || Date.now() + this.#delayMs > this.#deadline) return false;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.#options.maxDelayMs);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      attempt();
    }, delay);
    return true;
  }

  /** Stops a pending retry and resets the delay; the window stays open. */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#delayMs = this.#options.firstDelayMs;
  }

  /** Cancels and closes the window. */
  close(): void {
    this.cancel();
    this.#deadline = null;
  }
}
