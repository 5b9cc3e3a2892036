import {
  QUALITY_PRESETS,
  SFU_CODEC_ORDER,
  type QualityPreset,
  type SfuAnswer,
  type SfuDemand,
} from '../../../shared';
import { setVideoCodecPreferences } from './codec-preferences';
import { createLogger } from './logger';
import type { RequestResult } from './signalling-client';

/**
 * The broadcaster's one upstream WebRTC copy to the server's SFU, published only while the
 * server says someone needs it (`sfu_demand`: SFU viewers, WHEP players). The browser offers
 * sendonly audio + video (H.264 first: every WHEP player and Safari decode it) and the server
 * answers; there is no trickle, the server learns our address from our ICE checks. A failed
 * connection is published again while demand lasts.
 */

export type SfuUpstreamState = 'off' | 'connecting' | 'live' | 'failed';

export interface SfuUpstreamStatus {
  state: SfuUpstreamState;
  codec: string | null;
  error: string | null;
}

export interface SfuUpstreamOptions {
  publish: (sdp: string) => Promise<RequestResult<SfuAnswer>>;
  unpublish: () => void;
  iceServers: () => RTCIceServer[];
  quality: QualityPreset;
  onStatus?: (status: SfuUpstreamStatus) => void;
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** Wait before publishing again after a failure. */
  retryDelayMs?: number;
}

const log = createLogger('sfu-upstream');

export class SfuUpstream {
  readonly #opts: SfuUpstreamOptions;
  #pc: RTCPeerConnection | null = null;
  #stream: MediaStream | null = null;
  #quality: QualityPreset;
  #active = false;
  #generation = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #status: SfuUpstreamStatus = { state: 'off', codec: null, error: null };

  constructor(opts: SfuUpstreamOptions) {
    this.#opts = opts;
    this.#quality = opts.quality;
  }

  get status(): SfuUpstreamStatus {
    return this.#status;
  }

  /** sfu_demand: publish while active, stop when not. */
  handleDemand(demand: SfuDemand, stream: MediaStream | null): void {
    if (stream) this.#stream = stream;
    if (demand.active === this.#active && (this.#pc || !demand.active)) return;
    this.#active = demand.active;
    if (demand.active) void this.#publish();
    else this.#stop(true);
  }

  /** A new capture: swapped into the senders without renegotiating. */
  async setStream(stream: MediaStream): Promise<void> {
    this.#stream = stream;
    const pc = this.#pc;
    if (!pc) return;
    for (const sender of pc.getSenders()) {
      const kind = sender.track?.kind ?? senderKind(pc, sender);
      const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
      try {
        await sender.replaceTrack(track ?? null);
      } catch (err) {
        log.warn('replaceTrack failed', err);
      }
    }
  }

  async setQuality(quality: QualityPreset): Promise<void> {
    this.#quality = quality;
    const sender = this.#pc?.getSenders().find((s) => s.track?.kind === 'video');
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    const preset = QUALITY_PRESETS[quality];
    for (const encoding of params.encodings) {
      encoding.maxBitrate = preset.maxBitrateKbps * 1000;
      encoding.maxFramerate = preset.fps;
    }
    try {
      await sender.setParameters(params);
    } catch (err) {
      log.debug('setParameters failed', err);
    }
  }

  close(): void {
    this.#active = false;
    this.#stop(false);
  }

  async #publish(): Promise<void> {
    this.#stop(false);
    const stream = this.#stream;
    if (!stream || !this.#active) return;
    const generation = ++this.#generation;
    const create = this.#opts.createPeerConnection ?? ((c) => new RTCPeerConnection(c));
    const pc = create({ iceServers: this.#opts.iceServers(), bundlePolicy: 'max-bundle' });
    this.#pc = pc;
    this.#setStatus({ state: 'connecting', codec: null, error: null });
    const preset = QUALITY_PRESETS[this.#quality];
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    const videoTransceiver = pc.addTransceiver(video ?? 'video', {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: preset.maxBitrateKbps * 1000, maxFramerate: preset.fps }],
    });
    setVideoCodecPreferences(videoTransceiver, SFU_CODEC_ORDER);
    pc.addTransceiver(audio ?? 'audio', { direction: 'sendonly', streams: [stream] });
    pc.onconnectionstatechange = () => {
      if (generation !== this.#generation) return;
      const state = pc.connectionState;
      if (state === 'connected') this.#setStatus({ ...this.#status, state: 'live', error: null });
      if (state === 'failed') this.#fail('the connection to the server failed');
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const result = await this.#opts.publish(pc.localDescription!.sdp);
      if (generation !== this.#generation) return;
      if (!result.ok) {
        this.#fail(result.error.message);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: result.data.sdp });
      this.#setStatus({ ...this.#status, codec: result.data.codec });
    } catch (err) {
      if (generation === this.#generation)
        this.#fail(err instanceof Error ? err.message : String(err));
    }
  }

  #fail(error: string): void {
    log.warn('upstream failed', error);
    this.#closePc();
    this.#setStatus({ state: 'failed', codec: null, error });
    if (!this.#active || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#active) void this.#publish();
    }, this.#opts.retryDelayMs ?? 3000);
  }

  #stop(tellServer: boolean): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const had = this.#pc !== null;
    this.#closePc();
    if (had && tellServer) this.#opts.unpublish();
    this.#setStatus({ state: 'off', codec: null, error: null });
  }

  #closePc(): void {
    this.#generation++;
    if (!this.#pc) return;
    this.#pc.onconnectionstatechange = null;
    this.#pc.close();
    this.#pc = null;
  }

  #setStatus(status: SfuUpstreamStatus): void {
    this.#status = status;
    this.#opts.onStatus?.(status);
  }
}

function senderKind(pc: RTCPeerConnection, sender: RTCRtpSender): string | undefined {
  return pc.getTransceivers().find((t) => t.sender === sender)?.receiver.track.kind;
}
