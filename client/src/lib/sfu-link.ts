import type { PeerStatsDigest, SfuAnswer } from '../../../shared';
import { createLogger } from './logger';
import type { RequestResult } from './signalling-client';
import { digestInboundStats, type StatsSnapshot } from './stats-digest';

/**
 * A viewer's WebRTC connection to the server's SFU: a recvonly offer (every codec this browser
 * decodes), answered by `sfu_subscribe` with the room's codec. The media is the broadcaster's
 * upstream copy, forwarded without decoding. Its stats digest reports path `sfu`.
 */

export interface SfuLinkOptions {
  subscribe: (sdp: string) => Promise<RequestResult<SfuAnswer>>;
  iceServers: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  onStream: (stream: MediaStream) => void;
  /** The server refused (code) or the connection failed ('FAILED'). */
  onFailed: (code: string, message: string) => void;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

const log = createLogger('sfu-link');

export class SfuLink {
  readonly #opts: SfuLinkOptions;
  readonly #pc: RTCPeerConnection;
  readonly #tracks = new Map<string, MediaStreamTrack>();
  #snapshot: StatsSnapshot | null = null;
  #closed = false;
  /** The room's codec, from the answer. */
  codec: string | null = null;

  constructor(opts: SfuLinkOptions) {
    this.#opts = opts;
    const create = opts.createPeerConnection ?? ((c) => new RTCPeerConnection(c));
    this.#pc = create({
      iceServers: opts.iceServers,
      bundlePolicy: 'max-bundle',
      ...(opts.iceTransportPolicy ? { iceTransportPolicy: opts.iceTransportPolicy } : {}),
    });
    this.#pc.addTransceiver('video', { direction: 'recvonly' });
    this.#pc.addTransceiver('audio', { direction: 'recvonly' });
    this.#pc.ontrack = (event) => {
      this.#tracks.set(event.track.kind, event.track);
      queueMicrotask(() => {
        if (!this.#closed) opts.onStream(new MediaStream([...this.#tracks.values()]));
      });
    };
    this.#pc.onconnectionstatechange = () => {
      if (this.#pc.connectionState === 'failed' && !this.#closed) {
        opts.onFailed('FAILED', 'The connection to the server failed.');
      }
    };
    void this.#negotiate();
  }

  get framesDecoded(): number {
    return this.#snapshot?.frames ?? 0;
  }

  async #negotiate(): Promise<void> {
    try {
      await this.#pc.setLocalDescription(await this.#pc.createOffer());
      const result = await this.#opts.subscribe(this.#pc.localDescription!.sdp);
      if (this.#closed) return;
      if (!result.ok) {
        this.#opts.onFailed(result.error.code, result.error.message);
        return;
      }
      this.codec = result.data.codec;
      await this.#pc.setRemoteDescription({ type: 'answer', sdp: result.data.sdp });
    } catch (err) {
      log.warn('negotiation failed', err);
      if (!this.#closed) this.#opts.onFailed('FAILED', String(err));
    }
  }

  async probeFramesDecoded(): Promise<number> {
    if (this.#closed) return 0;
    try {
      let frames = 0;
      for (const stat of (await this.#pc.getStats()).values() as Iterable<
        Record<string, unknown>
      >) {
        if (
          stat.type === 'inbound-rtp' &&
          stat.kind === 'video' &&
          typeof stat.framesDecoded === 'number'
        ) {
          frames = Math.max(frames, stat.framesDecoded);
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
      const report = await this.#pc.getStats();
      const { digest, snapshot } = digestInboundStats(
        Array.from(report.values()) as Record<string, unknown>[],
        this.#snapshot,
        Date.now(),
      );
      this.#snapshot = snapshot;
      return { ...digest, path: 'sfu' };
    } catch (err) {
      log.debug('getStats failed', err);
      return null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pc.ontrack = null;
    this.#pc.onconnectionstatechange = null;
    this.#pc.close();
    this.#tracks.clear();
  }
}
