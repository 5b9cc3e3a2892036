/** Classic token bucket: `capacity` burst, refilled continuously at `refillPerSecond`. */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = capacity;
    this.#updatedAt = now();
  }

  tryTake(cost = 1): boolean {
    const now = this.now();
    const elapsedS = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.capacity, this.#tokens + elapsedS * this.refillPerSecond);
    this.#updatedAt = now;
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
}

export type RateLimitKind = 'media' | 'chat' | 'request' | 'relay' | 'protocolError';

/** Per-socket limits. `media` covers signal + stats (ICE bursts are spiky). */
export const RATE_LIMITS: Record<RateLimitKind, { capacity: number; refillPerSecond: number }> = {
  media: { capacity: 200, refillPerSecond: 100 },
  chat: { capacity: 5, refillPerSecond: 1 },
  request: { capacity: 20, refillPerSecond: 5 },
  /**
   * Relay chunks from a broadcaster (60 fps video + 50/s audio + keyframe bursts). Bytes are
   * bounded separately, per room, by RELAY_MAX_ROOM_KBPS.
   */
  relay: { capacity: 400, refillPerSecond: 250 },
  /** How many protocol_error notices a socket gets, so junk can't turn into an echo flood. */
  protocolError: { capacity: 3, refillPerSecond: 1 },
};

export function createRateLimiters(
  now: () => number = Date.now,
): Record<RateLimitKind, TokenBucket> {
  const make = (kind: RateLimitKind) =>
    new TokenBucket(RATE_LIMITS[kind].capacity, RATE_LIMITS[kind].refillPerSecond, now);
  return {
    media: make('media'),
    chat: make('chat'),
    request: make('request'),
    relay: make('relay'),
    protocolError: make('protocolError'),
  };
}
