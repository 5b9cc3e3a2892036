import type { RoomCodec } from './codec-match';
import { KeyframeRequester, OutboundStream, PacketCache } from './outbound-stream';
import {
  buildSenderReport,
  isKeyframeStart,
  parseRtcp,
  parseRtpHeader,
  playoutDelayExtension,
  rtpPayload,
} from './rtp';

/**
 * One room's forwarding core, protocol-neutral: a publisher is any server-side connection that
 * receives media (today the browser broadcaster's upstream copy; a WHIP encoder later), a
 * subscriber is any connection that only sends (an SFU-rung viewer, a WHEP player). RTP is
 * forwarded without decoding: each subscriber gets its own rewritten copy (OutboundStream), NACKs
 * are answered from the shared PacketCache, PLI/FIR reach the publisher through one rate-limited
 * KeyframeRequester, and nothing a subscriber sends (REMB, receiver reports, media) ever reaches
 * the publisher or the other subscribers.
 */

export type TrackKind = 'audio' | 'video';
export type SubscriberKind = 'sfu' | 'whep';

export interface PublisherPort {
  readonly id: string;
  readonly codecs: Readonly<Record<TrackKind, RoomCodec | null>>;
  /** Sends a PLI (or FIR) upstream. */
  requestKeyframe(): void;
  close(): void;
}

export interface SubscriberPort {
  readonly id: string;
  readonly kind: SubscriberKind;
  /** The payload type the subscriber negotiated per kind; null when it takes no such track. */
  readonly payloadTypes: Readonly<Record<TrackKind, number | null>>;
  /** The SSRC its answer declared per kind. */
  readonly ssrcs: Readonly<Record<TrackKind, number>>;
  /** The playout-delay extension id its answer negotiated for video (render at once), if any. */
  readonly playoutDelayId?: number | null;
  /** The room codec it was answered with (a new publisher with another codec drops it). */
  readonly videoCodec: string | null;
  /** Its connection is up (DTLS done): packets sent before would be lost, keyframe included. */
  readonly ready: boolean;
  send(kind: TrackKind, packet: Buffer): void;
  close(reason: string): void;
}

export interface SubscriberStats {
  id: string;
  kind: SubscriberKind;
  packets: number;
  bytes: number;
  frames: number;
  retransmits: number;
  keyframeRequests: number;
  /** From the subscriber's receiver reports (0–1), and its REMB estimate (bit/s). */
  fractionLost: number | null;
  estimatedBitrate: number | null;
}

export interface RoomRouterOptions {
  now?: () => number;
  /** Keyframe requests to the publisher: at most one per this many ms. */
  keyframeIntervalMs?: number;
  /** Demand stays on this long after the last subscriber leaves (a reload comes straight back). */
  demandLingerMs?: number;
  onDemandChange?: (active: boolean, subscribers: number) => void;
  onSubscriberDropped?: (id: string, reason: string) => void;
  setTimer?: (cb: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

interface Subscription {
  port: SubscriberPort;
  streams: Record<TrackKind, OutboundStream | null>;
  keyframeRequests: number;
  fractionLost: number | null;
  estimatedBitrate: number | null;
}

export interface PublisherInfo {
  codecs: Readonly<Record<TrackKind, RoomCodec | null>>;
}

export class RoomRouter {
  readonly #opts: Required<Pick<RoomRouterOptions, 'now' | 'demandLingerMs'>> & RoomRouterOptions;
  readonly #subscribers = new Map<string, Subscription>();
  readonly #cache = new PacketCache(1024);
  readonly #keyframes: KeyframeRequester;
  #publisher: PublisherPort | null = null;
  /** Bumped for every new publisher: subscriber streams resync to it. */
  #epoch = 0;
  /** Subscribers still negotiating (waiting for the publisher); they count as demand. */
  #pending = 0;
  #waiters = new Set<(info: PublisherInfo | null) => void>();
  #demand = false;
  #lingerTimer: unknown = null;
  #closed = false;
  packetsIn = 0;

  constructor(opts: RoomRouterOptions = {}) {
    this.#opts = {
      ...opts,
      now: opts.now ?? Date.now,
      demandLingerMs: opts.demandLingerMs ?? 5000,
    };
    this.#keyframes = new KeyframeRequester({
      minIntervalMs: opts.keyframeIntervalMs ?? 1000,
      now: this.#opts.now,
      send: () => this.#publisher?.requestKeyframe(),
      setTimer: opts.setTimer,
      clearTimer: opts.clearTimer,
    });
  }

  get publisher(): PublisherPort | null {
    return this.#publisher;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Subscribers of one kind (e.g. WHEP players, who are not room members). */
  countOf(kind: SubscriberKind): number {
    let n = 0;
    for (const sub of this.#subscribers.values()) if (sub.port.kind === kind) n++;
    return n;
  }

  /** Keyframe requests actually sent upstream, and those folded into another. */
  get keyframeStats(): { sent: number; coalesced: number } {
    return { sent: this.#keyframes.sent, coalesced: this.#keyframes.coalesced };
  }

  /** A new publisher replaces the old one (closed); subscribers continue from its first keyframe. */
  attachPublisher(publisher: PublisherPort): void {
    if (this.#closed) {
      publisher.close();
      return;
    }
    const previous = this.#publisher;
    this.#publisher = publisher;
    this.#epoch++;
    this.#cache.clear();
    if (previous && previous !== publisher) previous.close();
    for (const [id, sub] of this.#subscribers) {
      if (sub.port.videoCodec !== null && sub.port.videoCodec !== publisher.codecs.video?.name) {
        this.#drop(id, 'the room codec changed');
      }
    }
    const info = { codecs: publisher.codecs };
    for (const resolve of this.#waiters) resolve(info);
    this.#waiters.clear();
    if (this.#subscribers.size > 0) this.#keyframes.request();
  }

  /** The publisher's connection ended; subscribers wait for the next one. */
  detachPublisher(publisher: PublisherPort): void {
    if (this.#publisher !== publisher) return;
    this.#publisher = null;
    this.#cache.clear();
  }

  /** Resolves with the publisher's codecs, at once or when one attaches; null after `timeoutMs`. */
  waitForPublisher(timeoutMs: number): Promise<PublisherInfo | null> {
    if (this.#publisher) return Promise.resolve({ codecs: this.#publisher.codecs });
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (info: PublisherInfo | null) => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(info);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      timer.unref();
      this.#waiters.add(done);
    });
  }

  /** A subscriber is negotiating: demand goes up now, before its answer exists. */
  reserve(): () => void {
    this.#pending++;
    this.#updateDemand();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#pending--;
      this.#updateDemand();
    };
  }

  addSubscriber(port: SubscriberPort): void {
    if (this.#closed) {
      port.close('the room ended');
      return;
    }
    const now = this.#opts.now;
    const stream = (kind: TrackKind): OutboundStream | null => {
      const pt = port.payloadTypes[kind];
      const codec = this.#publisher?.codecs[kind];
      if (pt === null || !codec) return null;
      return new OutboundStream({
        ssrc: port.ssrcs[kind],
        payloadType: pt,
        clockRate: codec.clockRate,
        waitForKeyframe: kind === 'video',
        now,
        extension:
          kind === 'video' && port.playoutDelayId
            ? playoutDelayExtension(port.playoutDelayId)
            : null,
      });
    };
    this.#subscribers.set(port.id, {
      port,
      streams: { audio: stream('audio'), video: stream('video') },
      keyframeRequests: 0,
      fractionLost: null,
      estimatedBitrate: null,
    });
    this.#updateDemand();
    // Keyframe on subscribe: the new subscriber's video starts at the next keyframe.
    if (port.ready) this.#keyframes.request();
  }

  /** A subscriber's connection came up: its video starts at the next keyframe, ask for one. */
  subscriberReady(id: string): void {
    if (this.#subscribers.has(id)) this.#keyframes.request();
  }

  removeSubscriber(id: string): void {
    if (!this.#subscribers.delete(id)) return;
    this.#updateDemand();
  }

  /** One RTP packet from a publisher; anything not from the current publisher is ignored. */
  handleMedia(publisher: PublisherPort, kind: TrackKind, packet: Buffer): void {
    if (publisher !== this.#publisher) return;
    const header = parseRtpHeader(packet);
    const codec = publisher.codecs[kind];
    if (!header || !codec) return;
    this.packetsIn++;
    let keyframe = false;
    if (kind === 'video') {
      this.#cache.put(header.sequence, packet);
      keyframe = isKeyframeStart(codec.name, rtpPayload(packet, header));
    }
    let waiting = false;
    for (const sub of this.#subscribers.values()) {
      const stream = sub.streams[kind];
      if (!stream || !sub.port.ready) continue;
      const out = stream.forward(packet, header, this.#epoch, keyframe);
      if (out) sub.port.send(kind, out);
      else if (stream.waiting) waiting = true;
    }
    // A subscriber still waits for its first keyframe (e.g. the request was lost): ask again.
    if (waiting && header.marker) this.#keyframes.request();
  }

  /** RTCP from a subscriber: feedback is handled here and never forwarded as is. */
  handleFeedback(subscriberId: string, packet: Buffer): void {
    const sub = this.#subscribers.get(subscriberId);
    if (!sub) return;
    for (const fb of parseRtcp(packet)) {
      switch (fb.type) {
        case 'pli':
        case 'fir':
          sub.keyframeRequests++;
          this.#keyframes.request();
          break;
        case 'nack': {
          const kind = this.#kindOf(sub, fb.mediaSsrc);
          const stream = kind ? sub.streams[kind] : null;
          if (!kind || !stream) break;
          for (const sequence of fb.sequences) {
            const again = stream.retransmit(sequence, (s) => this.#cache.get(s), parseRtpHeader);
            if (again) sub.port.send(kind, again);
          }
          break;
        }
        case 'remb':
          sub.estimatedBitrate = fb.bitrate;
          break;
        case 'rr':
          for (const report of fb.reports) {
            if (report.ssrc === sub.streams.video?.ssrc) sub.fractionLost = report.fractionLost;
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * The publisher's sender report: every subscriber gets its own, with the same NTP↔RTP mapping
   * in its timeline, so players keep audio and video in sync as the publisher meant them.
   */
  handlePublisherReport(
    publisher: PublisherPort,
    kind: TrackKind,
    ntp: bigint,
    rtpTimestamp: number,
  ): void {
    if (publisher !== this.#publisher) return;
    for (const sub of this.#subscribers.values()) {
      const stream = sub.streams[kind];
      const translated = stream?.translateTimestamp(rtpTimestamp);
      if (!stream || translated === null || translated === undefined) continue;
      sub.port.send(
        kind,
        buildSenderReport(stream.ssrc, ntp, translated, stream.packets, stream.bytes),
      );
    }
  }

  stats(): SubscriberStats[] {
    return [...this.#subscribers.values()].map((sub) => {
      const v = sub.streams.video;
      const a = sub.streams.audio;
      return {
        id: sub.port.id,
        kind: sub.port.kind,
        packets: (v?.packets ?? 0) + (a?.packets ?? 0),
        bytes: (v?.bytes ?? 0) + (a?.bytes ?? 0),
        frames: v?.frames ?? 0,
        retransmits: v?.retransmits ?? 0,
        keyframeRequests: sub.keyframeRequests,
        fractionLost: sub.fractionLost,
        estimatedBitrate: sub.estimatedBitrate,
      };
    });
  }

  /** Ends the room: every subscriber and the publisher are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#keyframes.close();
    this.#clearLinger();
    for (const resolve of this.#waiters) resolve(null);
    this.#waiters.clear();
    for (const sub of this.#subscribers.values()) sub.port.close('the room ended');
    this.#subscribers.clear();
    this.#publisher?.close();
    this.#publisher = null;
  }

  #kindOf(sub: Subscription, ssrc: number): TrackKind | null {
    if (sub.streams.video?.ssrc === ssrc) return 'video';
    if (sub.streams.audio?.ssrc === ssrc) return 'audio';
    return null;
  }

  #drop(id: string, reason: string): void {
    const sub = this.#subscribers.get(id);
    if (!sub) return;
    this.#subscribers.delete(id);
    sub.port.close(reason);
    this.#opts.onSubscriberDropped?.(id, reason);
    this.#updateDemand();
  }

  #updateDemand(): void {
    const count = this.#subscribers.size + this.#pending;
    if (count > 0) {
      this.#clearLinger();
      const changed = !this.#demand;
      this.#demand = true;
      // Counts change often; the broadcaster only needs to hear when demand starts.
      if (changed) this.#opts.onDemandChange?.(true, count);
      return;
    }
    if (!this.#demand || this.#lingerTimer !== null || this.#closed) return;
    const setTimer = this.#opts.setTimer ?? ((cb, ms) => setTimeout(cb, ms).unref());
    this.#lingerTimer = setTimer(() => {
      this.#lingerTimer = null;
      if (this.#subscribers.size + this.#pending > 0 || !this.#demand) return;
      this.#demand = false;
      this.#opts.onDemandChange?.(false, 0);
    }, this.#opts.demandLingerMs);
  }

  #clearLinger(): void {
    if (this.#lingerTimer === null) return;
    const clearTimer =
      this.#opts.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    clearTimer(this.#lingerTimer);
    this.#lingerTimer = null;
  }

  get demandActive(): boolean {
    return this.#demand;
  }
}
