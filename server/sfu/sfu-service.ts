import {
  SFU_PUBLISHER_WAIT_MS,
  type ErrorCode,
  type RoomCode,
  type SfuAnswer,
  type SfuDemand,
  type VideoCodecName,
} from '../../shared/index';
import type { Logger } from '../logger';
import {
  choosePublisherAudio,
  choosePublisherVideo,
  matchSubscriberCodec,
  videoCodecName,
} from './codec-match';
import { RoomRouter, type PublisherPort, type SubscriberKind } from './room-router';
import { parseOffer, type SdpCodec, type SdpMedia } from './sdp';
import { openWebRtcEndpoint, type SectionPlan, type WebRtcEndpoint } from './webrtc-endpoint';

/**
 * The server WebRTC rung, one per process: the UDP endpoint, one RoomRouter per room, and the
 * process-wide MAX_SFU_VIEWERS bound. `publish` and `subscribe` are protocol-neutral: the
 * Socket.IO events (sfu-signalling.ts) and WHEP (whep-routes.ts) both call them, and a WHIP
 * ingest can call `publish` the same way.
 */

export interface SfuConfig {
  /** WEBRTC_UDP_PORT: every server peer connection shares it (ICE UDP mux); 0 picks one. */
  udpPort: number;
  /** WEBRTC_PUBLIC_IP: announced instead of the host's addresses (1:1 NAT). */
  publicIp: string | null;
  /** MAX_SFU_VIEWERS: SFU viewers plus WHEP players in this process; 0 switches the SFU off. */
  maxViewers: number;
  /** What the server asks a publisher for (REMB), kbit/s. */
  publisherKbps: number;
}

export interface SfuStatus {
  enabled: boolean;
  reason: string | null;
  udpPort: number | null;
  publicIp: string | null;
  /** libjuice (the library's ICE agent) has no ICE-TCP; UDP-blocked clients use TURN/TCP. */
  iceTcp: { enabled: false; reason: string };
  viewers: number;
  maxViewers: number;
}

export type SfuResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export interface SubscriberSession {
  readonly id: string;
  readonly roomId: RoomCode;
  readonly kind: SubscriberKind;
  close(): void;
}

export interface SfuServiceDeps {
  config: SfuConfig;
  log: Logger;
  /** Tells the room's broadcaster to (stop) publish(ing) its upstream copy. */
  onDemand: (roomId: RoomCode, demand: SfuDemand) => void;
  now?: () => number;
  /** How long subscribe waits for the publisher (tests shorten it). */
  publisherWaitMs?: number;
}

const fail = <T>(code: ErrorCode, message: string): SfuResult<T> => ({ ok: false, code, message });

const ICE_TCP_REASON = 'the WebRTC library (libjuice ICE) has no ICE-TCP; use TURN over TCP/TLS';

function sendsMedia(media: SdpMedia): boolean {
  return !media.rejected && (media.direction === 'sendonly' || media.direction === 'sendrecv');
}

function receivesMedia(media: SdpMedia): boolean {
  return !media.rejected && (media.direction === 'recvonly' || media.direction === 'sendrecv');
}

export class SfuService {
  readonly #deps: SfuServiceDeps;
  readonly #routers = new Map<RoomCode, RoomRouter>();
  #endpoint: WebRtcEndpoint | null = null;
  #reason: string | null = 'not started';
  /** Subscribers negotiating now: they count against MAX_SFU_VIEWERS already. */
  #pending = 0;
  #closed = false;

  constructor(deps: SfuServiceDeps) {
    this.#deps = deps;
  }

  /** Opens the UDP endpoint; on failure the SFU is off with a reason (never a crash). */
  async start(): Promise<void> {
    const { config, log } = this.#deps;
    if (config.maxViewers === 0) {
      this.#reason = 'MAX_SFU_VIEWERS is 0';
      log.info('sfu off: MAX_SFU_VIEWERS is 0');
      return;
    }
    const opened = await openWebRtcEndpoint({
      udpPort: config.udpPort,
      publicIp: config.publicIp,
      log,
      publisherBitrateBps: config.publisherKbps * 1000,
    });
    if (this.#closed) {
      if (opened.ok) opened.endpoint.close();
      return;
    }
    if (!opened.ok) {
      this.#reason = opened.reason;
      log.warn({ reason: opened.reason }, 'sfu off');
      return;
    }
    this.#endpoint = opened.endpoint;
    this.#reason = null;
    log.info(
      {
        udpPort: opened.endpoint.udpPort,
        publicIp: config.publicIp,
        maxViewers: config.maxViewers,
      },
      'sfu on',
    );
  }

  get enabled(): boolean {
    return this.#endpoint !== null;
  }

  status(): SfuStatus {
    return {
      enabled: this.enabled,
      reason: this.#reason,
      udpPort: this.#endpoint?.udpPort ?? null,
      publicIp: this.#deps.config.publicIp,
      iceTcp: { enabled: false, reason: ICE_TCP_REASON },
      viewers: this.viewerCount,
      maxViewers: this.#deps.config.maxViewers,
    };
  }

  /** SFU viewers and WHEP players attached in this process. */
  get viewerCount(): number {
    let n = 0;
    for (const router of this.#routers.values()) n += router.subscriberCount;
    return n;
  }

  /** Room for one more subscriber (overflow viewers go to the relay otherwise). */
  hasCapacity(): boolean {
    return this.enabled && this.viewerCount + this.#pending < this.#deps.config.maxViewers;
  }

  existingRouter(roomId: RoomCode): RoomRouter | undefined {
    return this.#routers.get(roomId);
  }

  /** WHEP players of a room (they are not room members; stats_summary counts them as `whep`). */
  countOf(roomId: RoomCode, kind: SubscriberKind): number {
    return this.#routers.get(roomId)?.countOf(kind) ?? 0;
  }

  /** Whether the room's broadcaster should be publishing its upstream now. */
  demandOf(roomId: RoomCode): SfuDemand {
    const router = this.#routers.get(roomId);
    return { active: router?.demandActive ?? false, subscribers: router?.subscriberCount ?? 0 };
  }

  /**
   * A publisher's offer (the broadcaster's upstream, later a WHIP encoder) → its answer. The
   * room's previous publisher, if any, is replaced.
   */
  async publish(roomId: RoomCode, sdp: string): Promise<SfuResult<SfuAnswer>> {
    const endpoint = this.#endpoint;
    if (!endpoint) return fail('SERVER_BUSY', `The SFU is off: ${this.#reason}.`);
    const parsed = parseOffer(sdp);
    if (!parsed.ok) return fail('INVALID_PAYLOAD', `Bad SDP offer: ${parsed.reason}.`);
    const { offer } = parsed;
    const video = offer.media.find((m) => m.kind === 'video' && sendsMedia(m));
    const audio = offer.media.find((m) => m.kind === 'audio' && sendsMedia(m));
    const videoCodec = video ? choosePublisherVideo(video) : null;
    const audioCodec = audio ? choosePublisherAudio(audio) : null;
    if (!videoCodec && !audioCodec) {
      return fail(
        'INVALID_PAYLOAD',
        'The offer sends no H264, VP8, VP9 or AV1 video and no Opus audio.',
      );
    }
    for (const media of [videoCodec ? video : null, audioCodec ? audio : null]) {
      if (media && media.ssrcs.length === 0) {
        return fail('INVALID_PAYLOAD', 'Each sending media section must declare its a=ssrc.');
      }
    }
    const plan: SectionPlan[] = offer.media.map((media) => ({
      media,
      codec:
        media === video && videoCodec
          ? withStartBitrate(videoCodec, this.#deps.config.publisherKbps)
          : media === audio
            ? audioCodec
            : null,
    }));
    const router = this.#routerFor(roomId);
    let port: PublisherPort | null = null;
    try {
      const created = await endpoint.createPublisher(offer, plan, {
        onMedia: (kind, packet) => port && router.handleMedia(port, kind, packet),
        onSenderReport: (kind, ntp, rtp) =>
          port && router.handlePublisherReport(port, kind, ntp, rtp),
        onClosed: () => port && router.detachPublisher(port),
      });
      port = created.port;
      router.attachPublisher(port);
      this.#deps.log.info(
        { room: roomId, video: videoCodec?.name, audio: !!audioCodec },
        'sfu publisher attached',
      );
      return {
        ok: true,
        value: { sdp: created.answer, codec: videoCodec ? videoCodecName(videoCodec.name) : null },
      };
    } catch (err) {
      this.#deps.log.debug({ room: roomId, err: (err as Error).message }, 'sfu publish refused');
      return fail('INVALID_PAYLOAD', 'The offer could not be negotiated.');
    }
  }

  /** The room's publisher goes away (the broadcaster stopped its upstream). */
  unpublish(roomId: RoomCode): void {
    this.#routers.get(roomId)?.publisher?.close();
  }

  /**
   * A subscriber's offer (an SFU viewer or a WHEP player) → its answer, once the room's publisher
   * is there (its demand starts the broadcaster's upstream). `stillWanted` is asked after the
   * wait: a viewer that left meanwhile gets nothing.
   */
  async subscribe(
    roomId: RoomCode,
    sdp: string,
    kind: SubscriberKind,
    opts: { stillWanted?: () => boolean; onClosed?: (reason: string) => void } = {},
  ): Promise<SfuResult<SfuAnswer & { session: SubscriberSession }>> {
    const endpoint = this.#endpoint;
    if (!endpoint) return fail('SERVER_BUSY', `The SFU is off: ${this.#reason}.`);
    if (!this.hasCapacity()) {
      return fail('SERVER_BUSY', 'The SFU has MAX_SFU_VIEWERS viewers; try again later.');
    }
    const parsed = parseOffer(sdp);
    if (!parsed.ok) return fail('INVALID_PAYLOAD', `Bad SDP offer: ${parsed.reason}.`);
    const { offer } = parsed;
    const video = offer.media.find((m) => m.kind === 'video' && receivesMedia(m));
    const audio = offer.media.find((m) => m.kind === 'audio' && receivesMedia(m));
    if (!video && !audio)
      return fail('INVALID_PAYLOAD', 'The offer receives neither audio nor video.');
    const router = this.#routerFor(roomId);
    this.#pending++;
    const release = router.reserve();
    try {
      const info = await router.waitForPublisher(
        this.#deps.publisherWaitMs ?? SFU_PUBLISHER_WAIT_MS,
      );
      if (opts.stillWanted && !opts.stillWanted()) return fail('NOT_IN_ROOM', 'Gone meanwhile.');
      if (!info) {
        return fail('PEER_NOT_FOUND', "The broadcaster's upstream to the server did not start.");
      }
      const roomVideo = info.codecs.video;
      const videoCodec = video && roomVideo ? matchSubscriberCodec(roomVideo, video) : null;
      const audioCodec =
        audio && info.codecs.audio ? matchSubscriberCodec(info.codecs.audio, audio) : null;
      if (video && roomVideo && !videoCodec) {
        return fail(
          'CODEC_UNSUPPORTED',
          `This browser cannot receive ${roomVideo.name} over WebRTC.`,
        );
      }
      if (!videoCodec && !audioCodec) {
        return fail('CODEC_UNSUPPORTED', 'The offer takes none of the room codecs.');
      }
      const plan: SectionPlan[] = offer.media.map((media) => ({
        media,
        codec: media === video ? videoCodec : media === audio ? audioCodec : null,
      }));
      let sessionClosed = false;
      const created = await endpoint.createSubscriber(offer, plan, kind, {
        onFeedback: (packet) => router.handleFeedback(created.port.id, packet),
        onReady: () => router.subscriberReady(created.port.id),
        onClosed: (reason) => {
          router.removeSubscriber(created.port.id);
          if (!sessionClosed) opts.onClosed?.(reason);
          sessionClosed = true;
        },
      });
      router.addSubscriber(created.port);
      const session: SubscriberSession = {
        id: created.port.id,
        roomId,
        kind,
        close: () => {
          sessionClosed = true;
          created.port.close('closed by the server');
        },
      };
      this.#deps.log.info({ room: roomId, kind, id: created.port.id }, 'sfu subscriber attached');
      return {
        ok: true,
        value: {
          sdp: created.answer,
          codec: roomVideo ? videoCodecName(roomVideo.name) : null,
          session,
        },
      };
    } catch (err) {
      this.#deps.log.debug({ room: roomId, err: (err as Error).message }, 'sfu subscribe refused');
      return fail('INVALID_PAYLOAD', 'The offer could not be negotiated.');
    } finally {
      this.#pending--;
      release();
    }
  }

  /** The room ended: its publisher and subscribers are closed. */
  closeRoom(roomId: RoomCode): void {
    const router = this.#routers.get(roomId);
    if (!router) return;
    this.#routers.delete(roomId);
    router.close();
  }

  close(): void {
    this.#closed = true;
    for (const roomId of [...this.#routers.keys()]) this.closeRoom(roomId);
    this.#endpoint?.close();
    this.#endpoint = null;
    this.#reason = 'the server is shutting down';
  }

  #routerFor(roomId: RoomCode): RoomRouter {
    let router = this.#routers.get(roomId);
    if (!router) {
      router = new RoomRouter({
        now: this.#deps.now,
        onDemandChange: (active, subscribers) => {
          this.#deps.log.info({ room: roomId, active, subscribers }, 'sfu demand');
          this.#deps.onDemand(roomId, { active, subscribers });
        },
      });
      this.#routers.set(roomId, router);
    }
    return router;
  }
}

/** Chrome ramps a new sender up from ~300 kbit/s; this starts it near the REMB we ask for. */
function withStartBitrate(codec: SdpCodec, kbps: number): SdpCodec {
  const start = Math.max(300, Math.round(kbps * 0.8));
  return { ...codec, params: [...codec.params, ['x-google-start-bitrate', String(start)]] };
}

export type { VideoCodecName };
