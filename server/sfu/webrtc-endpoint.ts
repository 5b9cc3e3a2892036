import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Logger } from '../logger';
import { roomCodecOf, type RoomCodec } from './codec-match';
import { InboundTrack } from './inbound-track';
import type { PublisherPort, SubscriberKind, SubscriberPort, TrackKind } from './room-router';
import {
  buildNack,
  buildPli,
  buildReceiverReport,
  buildRemb,
  isRtcp,
  parseRtcp,
  parseRtpHeader,
  PLAYOUT_DELAY_URI,
  type ReceptionReport,
} from './rtp';
import {
  canonicalOffer,
  formatParams,
  rewriteAnswerCandidates,
  type SdpCodec,
  type SdpMedia,
  type SdpOffer,
} from './sdp';

/**
 * The only file that touches the native WebRTC library (node-datachannel: libdatachannel with
 * libjuice ICE, libsrtp and OpenSSL DTLS). It turns a validated offer into a server peer
 * connection on the one muxed UDP port and wraps it as a router PublisherPort or SubscriberPort.
 * ICE, DTLS and SRTP are the library's; RTCP is ours (see rtp.ts), so the server controls every
 * packet of feedback a publisher gets.
 */

type Ndc = typeof import('node-datachannel').default;
type NdcPeer = InstanceType<Ndc['PeerConnection']>;
type NdcTrack = ReturnType<NdcPeer['addTrack']>;
type NdcListener = InstanceType<Ndc['IceUdpMuxListener']>;

export interface EndpointOptions {
  /** 0 picks a free port. */
  udpPort: number;
  /** WEBRTC_PUBLIC_IP: the address announced in answers (1:1 NAT). */
  publicIp: string | null;
  log: Logger;
  /** The bitrate the server asks publishers for (REMB), in bit/s. */
  publisherBitrateBps: number;
  /** A connection that is not up after this long is closed (a stranger's abandoned offer). */
  connectTimeoutMs?: number;
}

export type EndpointResult = { ok: true; endpoint: WebRtcEndpoint } | { ok: false; reason: string };

/** Sections of an offer and how the answer takes them: a codec, or rejected (null). */
export interface SectionPlan {
  media: SdpMedia;
  codec: SdpCodec | null;
}

export interface PublisherHandlers {
  onMedia(kind: TrackKind, packet: Buffer): void;
  onSenderReport(kind: TrackKind, ntp: bigint, rtpTimestamp: number): void;
  onClosed(): void;
}

export interface SubscriberHandlers {
  onFeedback(packet: Buffer): void;
  /** The connection is up: media sent from now on arrives. */
  onReady(): void;
  onClosed(reason: string): void;
}

/** The library is process-wide: its logger and threads are shared by every endpoint. */
let library: { ndc: Ndc; users: number } | null = null;

async function acquireLibrary(log: Logger): Promise<Ndc> {
  if (library) {
    library.users++;
    return library.ndc;
  }
  const ndc = (await import('node-datachannel')).default;
  if (!library) {
    ndc.initLogger('Warning', (level, message) => {
      if (level === 'Warning') log.debug({ lib: message }, 'webrtc library');
      else if (level === 'Error' || level === 'Fatal') log.warn({ lib: message }, 'webrtc library');
    });
    library = { ndc, users: 0 };
  }
  library.users++;
  return library.ndc;
}

function releaseLibrary(): void {
  if (!library) return;
  library.users--;
  if (library.users > 0) return;
  // Its threads would keep the process (or a test worker) alive.
  library.ndc.cleanup();
  library = null;
}

/** A UDP port free right now (for WEBRTC_UDP_PORT=0). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export async function openWebRtcEndpoint(opts: EndpointOptions): Promise<EndpointResult> {
  let ndc: Ndc;
  try {
    ndc = await acquireLibrary(opts.log);
  } catch (err) {
    opts.log.debug({ err: (err as Error).message }, 'node-datachannel failed to load');
    return {
      ok: false,
      reason: 'the WebRTC library (node-datachannel) is not installed for this platform',
    };
  }
  const attempts = opts.udpPort === 0 ? 5 : 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.udpPort === 0 ? await freeUdpPort() : opts.udpPort;
    try {
      const listener = new ndc.IceUdpMuxListener(port, '0.0.0.0');
      return { ok: true, endpoint: new WebRtcEndpoint(ndc, listener, port, opts) };
    } catch {
      if (attempt + 1 < attempts) continue;
      releaseLibrary();
      return { ok: false, reason: `UDP port ${port} cannot be bound (in use?)` };
    }
  }
  releaseLibrary();
  return { ok: false, reason: 'no free UDP port' };
}

const CNAME = 'roomcast';

export class WebRtcEndpoint {
  readonly udpPort: number;
  readonly #ndc: Ndc;
  readonly #listener: NdcListener;
  readonly #opts: EndpointOptions;
  readonly #peers = new Set<NdcPeer>();
  #closed = false;
  #seq = 0;

  constructor(ndc: Ndc, listener: NdcListener, udpPort: number, opts: EndpointOptions) {
    this.#ndc = ndc;
    this.#listener = listener;
    this.udpPort = udpPort;
    this.#opts = opts;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /**
   * A publisher: the answer receives the chosen codec per section (REMB, NACK and PLI
   * negotiated) and ignores everything else. Throws on a library error (the caller answers
   * INVALID_PAYLOAD).
   */
  async createPublisher(
    offer: SdpOffer,
    plan: SectionPlan[],
    handlers: PublisherHandlers,
  ): Promise<{ answer: string; port: PublisherPort }> {
    const { pc, tracks, answer } = await this.#negotiate('pub', offer, plan, 'RecvOnly', true);
    const codecs: Record<TrackKind, RoomCodec | null> = { audio: null, video: null };
    for (const { media, codec } of plan) {
      if (codec && (media.kind === 'audio' || media.kind === 'video') && tracks.has(media.kind)) {
        codecs[media.kind] = roomCodecOf(media.kind, codec);
      }
    }
    const ourSsrc = randomInt(1, 0xffffffff);
    const declaredVideoSsrc =
      plan.find((p) => p.codec && p.media.kind === 'video')?.media.ssrcs[0]?.ssrc ?? null;
    const inbound: Record<TrackKind, InboundTrack> = {
      audio: new InboundTrack(),
      video: new InboundTrack(),
    };
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(reports);
      this.#closePeer(pc);
      handlers.onClosed();
    };
    const sendRtcp = (kind: TrackKind, packet: Buffer) => {
      const track = tracks.get(kind);
      try {
        if (track?.isOpen()) track.sendMessageBinary(packet);
      } catch {
        // The connection is going away; its state callback closes it.
      }
    };
    for (const [kind, track] of tracks) {
      track.onMessage(
        guard(this.#opts.log, (packet: Buffer) => {
          if (closed) return;
          if (isRtcp(packet)) {
            for (const fb of parseRtcp(packet)) {
              if (fb.type !== 'sr') continue;
              inbound[kind].senderReport(fb.ntp, Date.now());
              handlers.onSenderReport(kind, fb.ntp, fb.rtpTimestamp);
            }
            return;
          }
          const header = parseRtpHeader(packet);
          if (!header) return;
          const missing = inbound[kind].receive(header.ssrc, header.sequence);
          if (missing.length > 0 && kind === 'video') {
            sendRtcp(kind, buildNack(ourSsrc, header.ssrc, missing));
          }
          handlers.onMedia(kind, packet);
        }),
      );
    }
    // Receiver reports drive the publisher's loss-based rate; REMB caps it at what we ask for.
    const reports = setInterval(() => {
      const now = Date.now();
      const blocks = (['audio', 'video'] as const)
        .map((kind) => inbound[kind].report(now))
        .filter((r): r is ReceptionReport => r !== null);
      if (blocks.length === 0) return;
      const via: TrackKind = tracks.has('video') ? 'video' : 'audio';
      sendRtcp(via, buildReceiverReport(ourSsrc, blocks));
      const videoSsrc = inbound.video.ssrc;
      if (videoSsrc !== null) {
        sendRtcp('video', buildRemb(ourSsrc, videoSsrc, this.#opts.publisherBitrateBps));
      }
    }, 1000);
    reports.unref();
    this.#watchState(pc, () => close());
    const port: PublisherPort = {
      id: `pub-${++this.#seq}`,
      codecs,
      requestKeyframe: () => {
        // Before the first packet, the SSRC the offer declared.
        const ssrc = inbound.video.ssrc ?? declaredVideoSsrc;
        if (ssrc !== null) sendRtcp('video', buildPli(ourSsrc, ssrc));
      },
      close,
    };
    return { answer, port };
  }

  /**
   * A subscriber: sendonly sections with the room's codec under the subscriber's payload type
   * and fresh SSRCs. Whatever it sends is dropped: its SSRCs are not in the rebuilt offer, and
   * on our tracks only RTCP is read.
   */
  async createSubscriber(
    offer: SdpOffer,
    plan: SectionPlan[],
    kind: SubscriberKind,
    handlers: SubscriberHandlers,
  ): Promise<{ answer: string; port: SubscriberPort }> {
    const ssrcs: Record<TrackKind, number> = {
      audio: randomInt(1, 0xffffffff),
      video: randomInt(1, 0xffffffff),
    };
    // Live, not VOD: a player that offers playout-delay is told to render frames at once.
    const videoMedia = plan.find((p) => p.codec && p.media.kind === 'video')?.media;
    const playoutDelayId =
      videoMedia?.extensions.find((e) => e.uri === PLAYOUT_DELAY_URI)?.id ?? null;
    const { pc, tracks, answer } = await this.#negotiate(
      'sub',
      offer,
      plan,
      'SendOnly',
      false,
      ssrcs,
    );
    const payloadTypes: Record<TrackKind, number | null> = { audio: null, video: null };
    let videoCodec: string | null = null;
    for (const { media, codec } of plan) {
      if (!codec || (media.kind !== 'audio' && media.kind !== 'video') || !tracks.has(media.kind)) {
        continue;
      }
      payloadTypes[media.kind] = codec.payloadType;
      if (media.kind === 'video') videoCodec = codec.name.toUpperCase();
    }
    let closed = false;
    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      this.#closePeer(pc);
      handlers.onClosed(reason);
    };
    for (const track of tracks.values()) {
      track.onMessage(
        guard(this.#opts.log, (packet: Buffer) => {
          // Media from a subscriber goes nowhere: only its feedback is read.
          if (!closed && isRtcp(packet)) handlers.onFeedback(packet);
        }),
      );
    }
    this.#watchState(pc, (reason) => close(reason));
    const lead = tracks.get('video') ?? tracks.get('audio')!;
    // Read on every packet: a flag, not a call into the library.
    let open = false;
    lead.onOpen(
      guard(this.#opts.log, () => {
        open = true;
        if (!closed) handlers.onReady();
      }),
    );
    const port: SubscriberPort = {
      id: `${kind}-${++this.#seq}`,
      kind,
      payloadTypes,
      ssrcs,
      playoutDelayId,
      videoCodec,
      get ready() {
        return open && !closed;
      },
      send: (trackKind, packet) => {
        const track = tracks.get(trackKind);
        try {
          if (track?.isOpen()) track.sendMessageBinary(packet);
        } catch {
          // Closing; the state callback ends the subscriber.
        }
      },
      close,
    };
    return { answer, port };
  }

  /** Stops the port and closes every connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pc of [...this.#peers]) this.#closePeer(pc);
    try {
      this.#listener.stop();
    } catch {
      // already stopped
    }
    releaseLibrary();
  }

  async #negotiate(
    name: string,
    offer: SdpOffer,
    plan: SectionPlan[],
    direction: 'RecvOnly' | 'SendOnly',
    keepSsrcs: boolean,
    ssrcs?: Record<TrackKind, number>,
  ): Promise<{ pc: NdcPeer; tracks: Map<TrackKind, NdcTrack>; answer: string }> {
    if (this.#closed) throw new Error('endpoint closed');
    const ndc = this.#ndc;
    const pc = new ndc.PeerConnection(`${name}-${this.#seq}`, {
      iceServers: [],
      enableIceUdpMux: true,
      portRangeBegin: this.udpPort,
      portRangeEnd: this.udpPort,
      disableAutoNegotiation: true,
    });
    this.#peers.add(pc);
    try {
      const tracks = new Map<TrackKind, NdcTrack>();
      for (const { media, codec } of plan) {
        if (!codec || media.rejected || (media.kind !== 'audio' && media.kind !== 'video'))
          continue;
        // One section per kind is used; further ones are answered as rejected.
        if (tracks.has(media.kind)) continue;
        const fmtp = codec.params.length > 0 ? formatParams(codec.params) : undefined;
        const description =
          media.kind === 'video'
            ? new ndc.Video(media.mid, direction)
            : new ndc.Audio(media.mid, direction);
        // The binding refuses an explicit `undefined` profile: pass no third argument then.
        const profile = fmtp === undefined ? [] : [fmtp];
        if (media.kind === 'video') {
          const video = description as InstanceType<Ndc['Video']>;
          video.addVideoCodec(codec.payloadType, codec.name, ...profile);
        } else {
          const rate = `${codec.name}/${codec.clockRate}/${codec.channels ?? 1}`;
          (description as InstanceType<Ndc['Audio']>).addAudioCodec(
            codec.payloadType,
            rate,
            ...profile,
          );
        }
        if (ssrcs) {
          description.addSSRC(ssrcs[media.kind], CNAME, 'roomcast', `roomcast-${media.kind}`);
          const playout = media.extensions.find((e) => e.uri === PLAYOUT_DELAY_URI);
          if (media.kind === 'video' && playout) {
            description.parseSdpLine(`a=extmap:${playout.id} ${PLAYOUT_DELAY_URI}`);
          }
        }
        tracks.set(media.kind, pc.addTrack(description));
      }
      if (tracks.size === 0) throw new Error('no usable media section');
      const usedMids = new Set(
        plan
          .filter((p) => p.codec && tracks.has(p.media.kind as TrackKind))
          .map((p) => p.media.mid),
      );
      const canonical = canonicalOffer(
        offer,
        plan.map(({ media, codec }) => ({
          media,
          // Sections without a local track are rejected (port 0) in the rebuilt offer.
          codec: usedMids.has(media.mid) && isFirstOfKind(plan, media) ? codec : null,
          keepSsrcs,
        })),
      );
      pc.setRemoteDescription(canonical, 'offer');
      pc.setLocalDescription('answer');
      await gathered(pc, 2000);
      const local = pc.localDescription();
      if (!local) throw new Error('no local description');
      return { pc, tracks, answer: rewriteAnswerCandidates(local.sdp, this.#opts.publicIp) };
    } catch (err) {
      this.#closePeer(pc);
      throw err;
    }
  }

  /** Failed or closed → gone; never connected within the timeout → closed. */
  #watchState(pc: NdcPeer, onGone: (reason: string) => void): void {
    const timeout = setTimeout(() => {
      if (pc.state() !== 'connected') onGone('the connection did not come up');
    }, this.#opts.connectTimeoutMs ?? 20_000);
    timeout.unref();
    let disconnectTimer: NodeJS.Timeout | null = null;
    pc.onStateChange(
      guard(this.#opts.log, (state: string) => {
        if (state === 'connected') {
          clearTimeout(timeout);
          if (disconnectTimer) clearTimeout(disconnectTimer);
          disconnectTimer = null;
        } else if (state === 'failed' || state === 'closed') {
          clearTimeout(timeout);
          onGone(`the connection ${state}`);
        } else if (state === 'disconnected' && !disconnectTimer) {
          // Often heals (a NAT rebinding); gone if it does not within 10 s.
          disconnectTimer = setTimeout(() => onGone('the connection was lost'), 10_000);
          disconnectTimer.unref();
        }
      }),
    );
  }

  #closePeer(pc: NdcPeer): void {
    if (!this.#peers.delete(pc)) return;
    try {
      pc.close();
    } catch {
      // already closed
    }
  }
}

function isFirstOfKind(plan: SectionPlan[], media: SdpMedia): boolean {
  return (
    plan.find((p) => p.codec && !p.media.rejected && p.media.kind === media.kind)?.media === media
  );
}

function gathered(pc: NdcPeer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (pc.gatheringState() === 'complete') return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    pc.onGatheringStateChange((state) => {
      // Cannot throw: it only settles a promise.
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * Library callbacks run through N-API thread-safe functions: a throw there aborts the whole
 * process, so every callback body is caught and logged here.
 */
function guard<A extends unknown[]>(log: Logger, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      log.error({ err }, 'sfu callback failed');
    }
  };
}
