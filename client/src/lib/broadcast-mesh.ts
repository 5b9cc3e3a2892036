import {
  DEFAULT_CODEC_ORDER,
  QUALITY_PRESETS,
  type PeerStatsDigest,
  type QualityPreset,
  type SignalMessage,
  type VideoCodecName,
} from '../../../shared';
import { setVideoCodecPreferences } from './codec-preferences';
import { createLogger } from './logger';
import { PeerLink } from './peer-link';
import type { SignallingClient } from './signalling-client';
import { digestOutboundStats, type StatsSnapshot } from './stats-digest';

/** Chrome encodes once per connection, so the broadcaster's CPU caps the mesh long before this. */
export const MAX_MESH_VIEWERS = 64;

export type ContentKind = 'camera' | 'screen';

export interface BroadcastMeshOptions {
  signalling: Pick<SignallingClient, 'sendSignal'>;
  iceServers: RTCIceServer[];
  /** 'relay' forces TURN for every viewer connection (?path=turn, "hide my IP address"). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  codecOrder: readonly VideoCodecName[];
  quality: QualityPreset;
  contentKind: ContentKind;
  onViewerStateChange?: (viewerId: string, state: RTCPeerConnectionState) => void;
  /** Test seam, passed through to each PeerLink. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

interface ViewerPeer {
  link: PeerLink;
  video: RTCRtpTransceiver;
  audio: RTCRtpTransceiver;
  snapshot: StatsSnapshot | null;
  parametersApplied: boolean;
}

const log = createLogger('mesh');

function degradationFor(kind: ContentKind): RTCDegradationPreference {
  // Screens carry text: keep it sharp and drop frames instead. Cameras keep motion smooth.
  return kind === 'screen' ? 'maintain-resolution' : 'maintain-framerate';
}

function contentHintFor(kind: ContentKind): string {
  return kind === 'screen' ? 'detail' : 'motion';
}

/**
 * The broadcaster's side: one impolite PeerLink per viewer, each with sendonly video and
 * audio transceivers. Source and quality changes go through replaceTrack/setParameters,
 * so no viewer is renegotiated or dropped.
 */
export class BroadcastMesh {
  readonly #opts: BroadcastMeshOptions;
  readonly #viewers = new Map<string, ViewerPeer>();
  #stream: MediaStream | null = null;
  #codecOrder: readonly VideoCodecName[];
  #quality: QualityPreset;
  #contentKind: ContentKind;
  #closed = false;
  /** The newest ICE servers the server handed out (the create ack's at first). */
  #iceServers: RTCIceServer[];

  constructor(opts: BroadcastMeshOptions) {
    this.#iceServers = opts.iceServers;
    this.#opts = opts;
    this.#codecOrder = opts.codecOrder.length > 0 ? opts.codecOrder : DEFAULT_CODEC_ORDER;
    this.#quality = opts.quality;
    this.#contentKind = opts.contentKind;
  }

  get viewerIds(): string[] {
    return [...this.#viewers.keys()];
  }

  get stream(): MediaStream | null {
    return this.#stream;
  }

  /** A viewer's video sender, for diagnostics and tests (e.g. checking the applied maxBitrate). */
  videoSender(viewerId: string): RTCRtpSender | null {
    return this.#viewers.get(viewerId)?.video.sender ?? null;
  }

  /** First call sets the source; later calls swap tracks on every sender in place. */
  async setStream(stream: MediaStream): Promise<void> {
    this.#stream = stream;
    this.#applyContentHint();
    const video = stream.getVideoTracks()[0] ?? null;
    const audio = stream.getAudioTracks()[0] ?? null;
    await Promise.all(
      [...this.#viewers.entries()].map(async ([viewerId, peer]) => {
        try {
          await Promise.all([
            peer.video.sender.replaceTrack(video),
            peer.audio.sender.replaceTrack(audio),
          ]);
          if (peer.parametersApplied) await this.#applySenderParameters(peer);
        } catch (err) {
          log.warn('replaceTrack failed', viewerId, err);
        }
      }),
    );
  }

  /** Applies the preset's bitrate/framerate cap and degradation preference to every sender. */
  async setQuality(quality: QualityPreset, contentKind?: ContentKind): Promise<void> {
    this.#quality = quality;
    if (contentKind) this.#contentKind = contentKind;
    this.#applyContentHint();
    await Promise.all([...this.#viewers.values()].map((peer) => this.#applySenderParameters(peer)));
  }

  /** Used for viewers that join afterwards; existing connections keep their codec. */
  setCodecOrder(order: readonly VideoCodecName[]): void {
    this.#codecOrder = order.length > 0 ? order : DEFAULT_CODEC_ORDER;
  }

  /**
   * Opens a peer connection to `viewerId`. `iceServers` are the ones the server minted for this
   * viewer (viewer_joined / offer_requested): TURN credentials expire, so a viewer joining hours
   * into a broadcast must not get the create ack's. They also become the default for later calls
   * without a list.
   */
  addViewer(viewerId: string, iceServers?: RTCIceServer[]): void {
    if (this.#closed) return;
    if (iceServers) this.#iceServers = iceServers;
    if (this.#viewers.has(viewerId)) this.removeViewer(viewerId);
    if (this.#viewers.size >= MAX_MESH_VIEWERS) {
      log.warn('mesh is full; viewer not connected', viewerId);
      return;
    }
    const link = new PeerLink({
      remoteId: viewerId,
      polite: false,
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#opts.iceTransportPolicy,
      send: (signal) => this.#opts.signalling.sendSignal(signal),
      createPeerConnection: this.#opts.createPeerConnection,
      onStateChange: (state) => this.#handleViewerState(viewerId, state),
    });
    const stream = this.#stream;
    const preset = QUALITY_PRESETS[this.#quality];
    const streams = stream ? [stream] : [];
    const videoTrack = stream?.getVideoTracks()[0];
    const audioTrack = stream?.getAudioTracks()[0];
    // Encoding limits go in from the start; setParameters later adds the degradation preference.
    const sendEncodings: RTCRtpEncodingParameters[] = [
      { maxBitrate: preset.maxBitrateKbps * 1000, maxFramerate: preset.fps },
    ];
    const video = link.pc.addTransceiver(videoTrack ?? 'video', {
      direction: 'sendonly',
      streams,
      sendEncodings,
    });
    // An audio transceiver even without a track, so a mic can be added later by replaceTrack.
    const audio = link.pc.addTransceiver(audioTrack ?? 'audio', { direction: 'sendonly', streams });
    setVideoCodecPreferences(video, this.#codecOrder);
    this.#viewers.set(viewerId, { link, video, audio, snapshot: null, parametersApplied: false });
    log.info('viewer added', viewerId);
  }

  removeViewer(viewerId: string): void {
    const peer = this.#viewers.get(viewerId);
    if (!peer) return;
    this.#viewers.delete(viewerId);
    peer.link.close();
    log.info('viewer removed', viewerId);
  }

  /** Routes a signal to the viewer it came from; unknown senders are ignored. */
  async handleSignal(msg: SignalMessage): Promise<void> {
    const peer = this.#viewers.get(msg.from);
    if (!peer) {
      log.debug('signal from unknown viewer ignored', msg.from);
      return;
    }
    await peer.link.handleSignal(msg);
  }

  async collectStats(): Promise<{
    totalUploadKbps: number;
    peers: Array<PeerStatsDigest & { viewerId: string }>;
  }> {
    const entries = [...this.#viewers.entries()];
    const results = await Promise.all(
      entries.map(async ([viewerId, peer]) => {
        try {
          const report = await peer.link.getStats();
          const { digest, snapshot } = digestOutboundStats(
            Array.from(report.values()) as Record<string, unknown>[],
            peer.snapshot,
            Date.now(),
          );
          peer.snapshot = snapshot;
          return { ...digest, viewerId };
        } catch (err) {
          log.debug('getStats failed', viewerId, err);
          return null;
        }
      }),
    );
    const peers = results.filter((p): p is PeerStatsDigest & { viewerId: string } => p !== null);
    const totalUploadKbps = peers.reduce((sum, p) => sum + p.bitrateKbps, 0);
    return { totalUploadKbps, peers };
  }

  /** Closes every connection. The stream belongs to the caller and is left running. */
  close(): void {
    this.#closed = true;
    for (const viewerId of [...this.#viewers.keys()]) this.removeViewer(viewerId);
  }

  #handleViewerState(viewerId: string, state: RTCPeerConnectionState): void {
    const peer = this.#viewers.get(viewerId);
    if (peer && state === 'connected' && !peer.parametersApplied) {
      peer.parametersApplied = true;
      void this.#applySenderParameters(peer);
    }
    this.#opts.onViewerStateChange?.(viewerId, state);
  }

  #applyContentHint(): void {
    const track = this.#stream?.getVideoTracks()[0];
    if (track && 'contentHint' in track) track.contentHint = contentHintFor(this.#contentKind);
  }

  async #applySenderParameters(peer: ViewerPeer): Promise<void> {
    const preset = QUALITY_PRESETS[this.#quality];
    const sender = peer.video.sender;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length === 0) {
      // Not negotiated yet: sendEncodings at the next negotiation will be used instead.
      return;
    }
    for (const encoding of params.encodings) {
      encoding.maxBitrate = preset.maxBitrateKbps * 1000;
      encoding.maxFramerate = preset.fps;
    }
    params.degradationPreference = degradationFor(this.#contentKind);
    try {
      await sender.setParameters(params);
    } catch (err) {
      // Some browsers refuse degradationPreference; the bitrate cap matters more.
      log.debug('setParameters with degradationPreference failed, retrying without', err);
      try {
        const plain = sender.getParameters();
        for (const encoding of plain.encodings) {
          encoding.maxBitrate = preset.maxBitrateKbps * 1000;
          encoding.maxFramerate = preset.fps;
        }
        await sender.setParameters(plain);
      } catch (retryErr) {
        log.warn('setParameters failed', retryErr);
      }
    }
  }
}
