import type { PeerStatsDigest, SignalMessage } from '../../../shared';
import { createLogger } from './logger';
import { PeerLink } from './peer-link';
import { receivableVideoCodecs, undecodableVideoOffer } from './sdp-codecs';
import type { SignallingClient } from './signalling-client';
import { digestInboundStats, type StatsSnapshot } from './stats-digest';

export interface ViewerLinkOptions {
  signalling: Pick<SignallingClient, 'sendSignal'>;
  broadcasterId: string;
  iceServers: RTCIceServer[];
  /** 'relay' forces TURN (?path=turn, "hide my IP address"). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  onStream: (stream: MediaStream) => void;
  onStateChange?: (state: RTCPeerConnectionState) => void;
  /**
   * The broadcaster's offer has only video codecs this browser can't receive (their names): its
   * video would never play over WebRTC.
   */
  onUndecodableOffer?: (codecs: string[]) => void;
  /** The receiver's video codec names; RTCRtpReceiver.getCapabilities by default (tests). */
  receivableVideoCodecs?: () => string[] | null;
  /** Test seam, passed through to the PeerLink. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

const log = createLogger('viewer');

/**
 * The viewer's side: a polite PeerLink that answers the broadcaster's offers and hands the
 * received video+audio to `onStream` as one MediaStream.
 */
export class ViewerLink {
  readonly #opts: ViewerLinkOptions;
  readonly #link: PeerLink;
  /** Latest track per kind; a renegotiation may replace one. */
  readonly #tracks = new Map<string, MediaStreamTrack>();
  #emitScheduled = false;
  #snapshot: StatsSnapshot | null = null;
  #closed = false;

  constructor(opts: ViewerLinkOptions) {
    this.#opts = opts;
    this.#link = new PeerLink({
      remoteId: opts.broadcasterId,
      polite: true,
      iceServers: opts.iceServers,
      iceTransportPolicy: opts.iceTransportPolicy,
      send: (signal) => opts.signalling.sendSignal(signal),
      createPeerConnection: opts.createPeerConnection,
      onTrack: (event) => this.#handleTrack(event.track),
      onStateChange: (state) => opts.onStateChange?.(state),
    });
  }

  get broadcasterId(): string {
    return this.#opts.broadcasterId;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.#link.connectionState;
  }

  /** inbound-rtp video framesDecoded as of the last collectStats(); > 0 means media flows. */
  get framesDecoded(): number {
    return this.#snapshot?.frames ?? 0;
  }

  /** Applies a signal from the broadcaster; anything from anyone else is ignored. */
  async handleSignal(msg: SignalMessage): Promise<void> {
    if (this.#closed || msg.from !== this.#opts.broadcasterId) {
      if (!this.#closed) log.debug('signal from a non-broadcaster ignored', msg.from);
      return;
    }
    if (msg.description?.type === 'offer' && msg.description.sdp) {
      const receivable = (this.#opts.receivableVideoCodecs ?? receivableVideoCodecs)();
      const undecodable = undecodableVideoOffer(msg.description.sdp, receivable);
      if (undecodable) {
        log.warn('the offer has no video codec this browser can decode', undecodable);
        this.#opts.onUndecodableOffer?.(undecodable);
        if (this.#closed) return;
      }
    }
    await this.#link.handleSignal(msg);
  }

  /**
   * inbound-rtp video framesDecoded right now, without touching the stats snapshot that
   * collectStats() computes rates from. The ladder polls it while waiting for first frames.
   */
  async probeFramesDecoded(): Promise<number> {
    if (this.#closed) return 0;
    try {
      const report = await this.#link.getStats();
      let frames = 0;
      for (const stat of report.values() as Iterable<Record<string, unknown>>) {
        if (stat.type === 'inbound-rtp' && stat.kind === 'video') {
          const decoded = stat.framesDecoded;
          if (typeof decoded === 'number' && decoded > frames) frames = decoded;
        }
      }
      return frames;
    } catch {
      return 0;
    }
  }

  async collectStats(): Promise<PeerStatsDigest | null> {
    if (this.#closed) return null;
    try {
      const report = await this.#link.getStats();
      const { digest, snapshot } = digestInboundStats(
        Array.from(report.values()) as Record<string, unknown>[],
        this.#snapshot,
        Date.now(),
      );
      this.#snapshot = snapshot;
      return digest;
    } catch (err) {
      log.debug('getStats failed', err);
      return null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.close();
    this.#tracks.clear();
  }

  #handleTrack(track: MediaStreamTrack): void {
    this.#tracks.set(track.kind, track);
    // Audio and video tracks arrive in the same task; hand them over together, once.
    if (this.#emitScheduled) return;
    this.#emitScheduled = true;
    queueMicrotask(() => {
      this.#emitScheduled = false;
      if (this.#closed) return;
      this.#opts.onStream(new MediaStream([...this.#tracks.values()]));
    });
  }
}
