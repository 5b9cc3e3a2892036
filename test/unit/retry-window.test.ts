import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryWindow } from '../../client/src/lib/retry-window';

describe('retry window', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries with doubling delays up to the cap, and stops at the end of the window', async () => {
    const window = new RetryWindow({ firstDelayMs: 1000, maxDelayMs: 4000, windowMs: 10_000 });
    const at: number[] = [];
    const start = Date.now();
    expect(window.schedule(() => {})).toBe(false); // never opened
    window.open();
    const attempt = () => {
      at.push(Date.now() - start);
      window.schedule(attempt);
    };
    expect(window.schedule(attempt)).toBe(true);
    expect(window.schedule(attempt)).toBe(true); // already pending: no second timer
    await vi.advanceTimersByTimeAsync(20_000);
    // 1 s, then +2 s, +4 s (capped); the next would end at 11 s, past the window.
    expect(at).toEqual([1000, 3000, 7000]);
  });

  it('cancel resets the delay; close ends the window', async () => {
    const window = new RetryWindow({ firstDelayMs: 1000, maxDelayMs: 8000, windowMs: 60_000 });
    const attempt = vi.fn();
    window.open();
    window.schedule(attempt);
    await vi.advanceTimersByTimeAsync(1000);
    window.schedule(attempt); // now 2 s
    window.cancel();
    window.schedule(attempt); // back to 1 s
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempt).toHaveBeenCalledTimes(2);
    window.close();
    expect(window.schedule(attempt)).toBe(false);
  });
});
