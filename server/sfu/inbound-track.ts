import { seqNewer, type ReceptionReport } from './rtp';

/**
 * What the server knows about one publisher stream as its receiver: sequence numbers seen (for
 * receiver reports, which drive the publisher's loss-based rate control) and the gaps to NACK.
 * The server's own reports are the only feedback a publisher gets: subscribers' never reach it.
 */
export class InboundTrack {
  ssrc: number | null = null;
  #base = 0;
  #cycles = 0;
  #highest = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #started = false;
  #lastSr: { middle: number; at: number } | null = null;
  /** Sequence numbers NACKed recently (asked once each). */
  readonly #nacked = new Set<number>();

  /**
   * Records one packet; returns the sequence numbers that went missing just before it (at most
   * `maxNack`, never asked twice), for a NACK to the publisher.
   */
  receive(ssrc: number, sequence: number, maxNack = 16): number[] {
    if (!this.#started || ssrc !== this.ssrc) {
      this.ssrc = ssrc;
      this.#started = true;
      this.#base = sequence;
      this.#highest = sequence;
      this.#cycles = 0;
      this.#received = 1;
      this.#expectedPrior = 0;
      this.#receivedPrior = 0;
      this.#nacked.clear();
      return [];
    }
    this.#received++;
    if (!seqNewer(sequence, this.#highest)) {
      this.#nacked.delete(sequence);
      return [];
    }
    const gap = (sequence - this.#highest) & 0xffff;
    if (sequence < this.#highest) this.#cycles += 0x10000;
    const missing: number[] = [];
    // A huge jump is a restart, not loss: nothing to ask for.
    if (gap > 1 && gap <= 256) {
      for (let s = 1; s < gap && missing.length < maxNack; s++) {
        const seq = (this.#highest + s) & 0xffff;
        if (!this.#nacked.has(seq)) missing.push(seq);
      }
    }
    this.#highest = sequence;
    for (const seq of missing) this.#nacked.add(seq);
    if (this.#nacked.size > 512) this.#nacked.clear();
    return missing;
  }

  /** The publisher's sender report arrived (for LSR/DLSR, which give it the round-trip time). */
  senderReport(ntp: bigint, at: number): void {
    this.#lastSr = { middle: Number((ntp >> 16n) & 0xffffffffn), at };
  }

  /** The reception report block for the next RR, or null before any packet. */
  report(now: number): ReceptionReport | null {
    if (!this.#started || this.ssrc === null) return null;
    const extendedHighest = this.#cycles + this.#highest;
    const expected = extendedHighest - this.#base + 1;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : (lostInterval * 256) / expectedInterval;
    const sr = this.#lastSr;
    return {
      ssrc: this.ssrc,
      fractionLost,
      cumulativeLost: Math.max(0, expected - this.#received),
      extendedHighest,
      jitter: 0,
      lastSr: sr?.middle ?? 0,
      delaySinceLastSr: sr ? Math.round(((now - sr.at) * 65536) / 1000) : 0,
    };
  }
}
