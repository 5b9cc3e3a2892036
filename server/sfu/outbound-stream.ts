import { seqNewer, rewriteRtp, type RtpHeader } from './rtp';

/**
 * One subscriber's copy of one publisher track. Each subscriber has its own SSRC, payload type,
 * sequence numbers and timestamps, so a new publisher (the broadcaster reconnects, the upstream
 * restarts) continues the same stream for the subscriber: no gap, no jump back in time. Video
 * starts only at a keyframe. Within one publisher ("epoch") the mapping is a fixed offset, so a
 * NACKed sequence number maps straight back to the publisher's packet in the shared cache.
 */

export interface OutboundStreamOptions {
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** Video waits for a keyframe at the start and after every publisher change. */
  waitForKeyframe: boolean;
  now: () => number;
  /** The first sequence number and timestamp sent (random by default, as RFC 3550 asks). */
  initialSequence?: number;
  initialTimestamp?: number;
  /** Header extension block written on every packet (e.g. playout-delay). */
  extension?: Buffer | null;
}

const u16 = (n: number) => n & 0xffff;
/** Late packets from up to this many sequence numbers before a start are dropped. */
const REORDER_WINDOW = 512;
/** NACKs are answered for this many of the latest packets (the cache holds 1024; SRTP's replay window too). */
const NACK_WINDOW = 512;
const u32 = (n: number) => n >>> 0;

export class OutboundStream {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly #clockRate: number;
  readonly #waitForKeyframe: boolean;
  readonly #now: () => number;
  readonly #extension: Buffer | null;
  #epoch: number | null = null;
  #seqOffset = 0;
  #tsOffset = 0;
  /** Publisher sequence number of this epoch's first forwarded packet. */
  #epochFirstIn = 0;
  #sentInEpoch = 0;
  #lastOut: { sequence: number; timestamp: number; at: number } | null = null;
  #nextSequence: number;
  #nextTimestamp: number;
  packets = 0;
  bytes = 0;
  /** Packets with the marker bit: frames (video) sent. */
  frames = 0;
  retransmits = 0;
  /** Packets held back while waiting for a keyframe. */
  heldBack = 0;

  constructor(opts: OutboundStreamOptions) {
    this.ssrc = opts.ssrc;
    this.payloadType = opts.payloadType;
    this.#clockRate = opts.clockRate;
    this.#waitForKeyframe = opts.waitForKeyframe;
    this.#now = opts.now;
    this.#extension = opts.extension ?? null;
    this.#nextSequence = u16(opts.initialSequence ?? Math.floor(Math.random() * 0x8000));
    this.#nextTimestamp = u32(opts.initialTimestamp ?? Math.floor(Math.random() * 0xffffffff));
  }

  /** True until the first packet of the current publisher has gone out (video: its keyframe). */
  get waiting(): boolean {
    return this.#epoch === null;
  }

  /** The publisher changed: wait for its first (key)frame and continue the numbering after it. */
  resync(): void {
    this.#epoch = null;
  }

  /**
   * The subscriber's copy of a publisher packet, or null while waiting for a keyframe (or for a
   * packet from before the current publisher's first forwarded one).
   */
  forward(packet: Buffer, header: RtpHeader, epoch: number, keyframeStart: boolean): Buffer | null {
    if (this.#epoch !== epoch) {
      if (this.#waitForKeyframe && !keyframeStart) {
        this.heldBack++;
        return null;
      }
      this.#startEpoch(epoch, header);
    } else {
      // Reordered from just before this subscriber's start: the decoder has no use for it.
      const behind = u16(this.#epochFirstIn - header.sequence);
      if (behind > 0 && behind <= REORDER_WINDOW && this.#sentInEpoch < 2 * REORDER_WINDOW) {
        return null;
      }
    }
    const out = this.#rewrite(packet, header);
    const last = this.#lastOut;
    if (!last || seqNewer(u16(header.sequence + this.#seqOffset), last.sequence)) {
      this.#lastOut = {
        sequence: u16(header.sequence + this.#seqOffset),
        timestamp: u32(header.timestamp + this.#tsOffset),
        at: this.#now(),
      };
    }
    this.#sentInEpoch++;
    this.packets++;
    this.bytes += out.length;
    if (header.marker) this.frames++;
    return out;
  }

  /** A NACKed packet again, or null when `outSequence` is not from the current publisher. */
  retransmit(
    outSequence: number,
    lookup: (sourceSequence: number) => Buffer | undefined,
    parse: (b: Buffer) => RtpHeader | null,
  ): Buffer | null {
    const source = this.sourceSequence(outSequence);
    if (source === null) return null;
    const packet = lookup(source);
    const header = packet ? parse(packet) : null;
    if (!packet || !header || header.sequence !== source) return null;
    this.retransmits++;
    return this.#rewrite(packet, header);
  }

  /** A publisher RTP timestamp in this subscriber's timeline (for sender reports), if started. */
  translateTimestamp(sourceTimestamp: number): number | null {
    return this.#epoch === null ? null : u32(sourceTimestamp + this.#tsOffset);
  }

  /** The publisher's sequence number behind one we sent, within the current epoch. */
  sourceSequence(outSequence: number): number | null {
    if (this.#epoch === null || !this.#lastOut) return null;
    const back = u16(this.#lastOut.sequence - outSequence);
    if (back >= Math.min(this.#sentInEpoch, NACK_WINDOW)) return null;
    return u16(outSequence - this.#seqOffset);
  }

  #startEpoch(epoch: number, header: RtpHeader): void {
    const last = this.#lastOut;
    const firstOut = last ? u16(last.sequence + 1) : this.#nextSequence;
    let firstTs = this.#nextTimestamp;
    if (last) {
      // Keep the clock running across the gap, so the player does not see time jump back.
      const elapsed = Math.max(1, Math.round(((this.#now() - last.at) * this.#clockRate) / 1000));
      firstTs = u32(last.timestamp + elapsed);
    }
    this.#epoch = epoch;
    this.#epochFirstIn = header.sequence;
    this.#sentInEpoch = 0;
    this.#seqOffset = u16(firstOut - header.sequence);
    this.#tsOffset = u32(firstTs - header.timestamp);
  }

  #rewrite(packet: Buffer, header: RtpHeader): Buffer {
    return rewriteRtp(packet, header, {
      payloadType: this.payloadType,
      sequence: u16(header.sequence + this.#seqOffset),
      timestamp: u32(header.timestamp + this.#tsOffset),
      ssrc: this.ssrc,
      extension: this.#extension,
    });
  }
}

/** The publisher's recent video packets by sequence number, shared by all its subscribers. */
export class PacketCache {
  readonly #slots: Array<{ sequence: number; packet: Buffer } | undefined>;
  readonly #mask: number;

  /** `size` is rounded up to a power of two (1024 ≈ 3 s of 720p at 2.5 Mbit/s). */
  constructor(size = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(2, size)));
    this.#slots = new Array(capacity);
    this.#mask = capacity - 1;
  }

  put(sequence: number, packet: Buffer): void {
    this.#slots[sequence & this.#mask] = { sequence, packet };
  }

  get(sequence: number): Buffer | undefined {
    const slot = this.#slots[sequence & this.#mask];
    return slot && slot.sequence === sequence ? slot.packet : undefined;
  }

  clear(): void {
    this.#slots.fill(undefined);
  }
}

export interface KeyframeRequesterOptions {
  /** At most one request to the publisher per this many ms, however many subscribers ask. */
  minIntervalMs: number;
  now: () => number;
  send: () => void;
  setTimer?: (cb: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * PLI/FIR from subscribers, and keyframes for new subscribers, reach the publisher at most once
 * per interval: a lossy subscriber asking every 100 ms cannot make the publisher send keyframes
 * (big, bursty) to everyone. A request inside the interval is not lost: one goes out at its end.
 */
export class KeyframeRequester {
  readonly #opts: KeyframeRequesterOptions;
  #lastSentAt = -Infinity;
  #timer: unknown = null;
  sent = 0;
  coalesced = 0;

  constructor(opts: KeyframeRequesterOptions) {
    this.#opts = opts;
  }

  request(): void {
    const { now, minIntervalMs } = this.#opts;
    const wait = this.#lastSentAt + minIntervalMs - now();
    if (wait <= 0) {
      this.#send();
      return;
    }
    this.coalesced++;
    if (this.#timer !== null) return;
    const setTimer = this.#opts.setTimer ?? ((cb, ms) => setTimeout(cb, ms).unref());
    this.#timer = setTimer(() => {
      this.#timer = null;
      this.#send();
    }, wait);
  }

  close(): void {
    if (this.#timer === null) return;
    const clearTimer =
      this.#opts.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    clearTimer(this.#timer);
    this.#timer = null;
  }

  #send(): void {
    this.#lastSentAt = this.#opts.now();
    this.sent++;
    this.#opts.send();
  }
}
