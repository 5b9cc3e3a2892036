import {
  DEFAULT_CODEC_ORDER,
  DEFAULT_QUALITY,
  type ChatMessage,
  type CreateRoomResult,
  type MediaPath,
  type RelayDemand,
  type SfuDemand,
  type QualityPreset,
  type RoomCode,
  type StatsSummary,
  type VideoCodecName,
  type ViewerMode,
  type ViewerSummary,
} from '../../../shared/index';
import { BroadcastMesh } from '../lib/broadcast-mesh';
import * as mediaCapture from '../lib/media-capture';
import { RetryWindow } from '../lib/retry-window';
import { createLogger } from '../lib/logger';
import { iceTransportPolicyFor, type PathOverride } from '../lib/path-override';
import { codecNameFromCodecString } from '../lib/relay/codec-selection';
import { RelayUpstream } from '../lib/relay-upstream';
import { SfuUpstream, type SfuUpstreamStatus } from '../lib/sfu-upstream';
import { warmUpEncoderProbes } from '../lib/relay/encoder-probe';
import type { ConnectionState } from '../lib/signalling-client';
import {
  errorFromCode,
  pushBounded,
  type CreateMesh,
  type CreateUpstream,
  type MeshPort,
  type UpstreamPort,
  type SessionStoragePort,
  type SignallingPort,
  type UiError,
} from './ports';

export type BroadcastPhase = 'setup' | 'starting' | 'live' | 'reconnecting' | 'ended';
export type SourceKind = 'camera' | 'screen';
export type CodecChoice = 'auto' | VideoCodecName;

export type MediaPort = Pick<
  typeof mediaCapture,
  | 'listMediaDevices'
  | 'captureCamera'
  | 'captureScreen'
  | 'applyQualityToTrack'
  | 'stopStream'
  | 'isScreenCaptureSupported'
>;

export interface BroadcastSessionDeps {
  signalling: SignallingPort;
  media?: MediaPort;
  createMesh?: CreateMesh;
  createUpstream?: CreateUpstream;
  /** ?path= from the URL: `turn` forces TURN on every viewer connection, `relay` makes none. */
  pathOverride?: PathOverride;
  /** Where the reclaim token lives; survives a reload of this tab only. */
  storage?: SessionStoragePort | null;
  statsIntervalMs?: number;
}

export const CHAT_LOG_LIMIT = 200;
/** One sample per second: two minutes of upload history for the sparkline. */
export const UPLOAD_HISTORY_LIMIT = 120;
export const RECLAIM_STORAGE_KEY = 'roomcast:broadcast';

/** What the "relay upstream" indicator shows. */
export interface RelayUpstreamStatus {
  running: boolean;
  codec: string | null;
  bitrateKbps: number;
  error: string | null;
}

/**
 * Kept in this tab's sessionStorage for reclaim. The room settings let a reclaim re-create the
 * room under its code after a server restart (password included, or the room would reopen
 * without one).
 */
interface SavedBroadcast {
  roomId: RoomCode;
  broadcasterToken: string;
  title?: string;
  listed?: boolean;
  relayOnly?: boolean;
  password?: string;
}

/** How long a live broadcaster keeps reclaiming a room whose node went away. */
const RECLAIM_WINDOW_MS = 60_000;
const RECLAIM_FIRST_DELAY_MS = 1000;
const RECLAIM_MAX_DELAY_MS = 8000;
const log = createLogger('broadcast-session');

/** The chosen codec goes first; the rest keep the default order. */
export function codecOrderFor(choice: CodecChoice): VideoCodecName[] {
  if (choice === 'auto') return [...DEFAULT_CODEC_ORDER];
  return [choice, ...DEFAULT_CODEC_ORDER.filter((c) => c !== choice)];
}

/**
 * The relay's WebCodecs encoder runs beside the mesh's WebRTC encoders, so on "auto" it takes the
 * cheapest realtime software encoder first: H.264 (also what egress copies without transcoding).
 * On 2 cores, relay glass-to-glass p50 was 51 ms with H.264 against 152 ms with AV1.
 */
export const RELAY_AUTO_CODEC_ORDER: readonly VideoCodecName[] = ['H264', 'VP8', 'VP9', 'AV1'];

export function relayCodecOrderFor(choice: CodecChoice): VideoCodecName[] {
  return choice === 'auto' ? [...RELAY_AUTO_CODEC_ORDER] : codecOrderFor(choice);
}

/** Everything the /broadcast page shows and does: capture, go live, the mesh, stats and chat. */
export class BroadcastSession {
  phase = $state<BroadcastPhase>('setup');
  connection = $state<ConnectionState>('disconnected');
  cameras = $state.raw<MediaDeviceInfo[]>([]);
  microphones = $state.raw<MediaDeviceInfo[]>([]);
  cameraId = $state<string | undefined>(undefined);
  microphoneId = $state<string | undefined>(undefined);
  source = $state<SourceKind>('camera');
  micEnabled = $state(true);
  quality = $state<QualityPreset>(DEFAULT_QUALITY);
  codecChoice = $state<CodecChoice>('auto');
  listed = $state(false);
  title = $state('');
  /** Optional room password; viewers must type it to join. */
  password = $state('');
  /** The server asks for BROADCAST_TOKEN (from `welcome`). */
  tokenRequired = $state(false);
  previewStream = $state.raw<MediaStream | null>(null);
  roomId = $state<RoomCode | null>(null);
  viewerCount = $state(0);
  viewers = $state.raw<ViewerSummary[]>([]);
  uploadHistory = $state.raw<number[]>([]);
  chat = $state.raw<ChatMessage[]>([]);
  error = $state<UiError | null>(null);
  busy = $state(false);
  pathOverride = $state<PathOverride>('auto');
  /** Viewers per media path from the latest stats_summary (overflow shows up as relay). */
  pathCounts = $state.raw<Partial<Record<MediaPath, number>> | null>(null);
  relayUpstream = $state.raw<RelayUpstreamStatus | null>(null);
  /** The upstream copy to the server's SFU (for SFU viewers and WHEP players). */
  sfuUpstream = $state.raw<SfuUpstreamStatus | null>(null);

  codecOrder = $derived(codecOrderFor(this.codecChoice));
  uploadKbps = $derived(this.uploadHistory.at(-1) ?? 0);

  readonly screenSupported: boolean;
  readonly #signalling: SignallingPort;
  readonly #media: MediaPort;
  readonly #createMesh: CreateMesh;
  readonly #createUpstream: CreateUpstream;
  #upstream: UpstreamPort | null = null;
  #upstreamError: string | null = null;
  /** The latest relay_demand; it can arrive before a reclaim's ack makes us live. */
  #demand: RelayDemand | null = null;
  #sfu: SfuUpstream | null = null;
  #sfuDemand: SfuDemand | null = null;
  #iceServers: RTCIceServer[] = [];
  readonly #storage: SessionStoragePort | null;
  readonly #statsIntervalMs: number;
  #mesh: MeshPort | null = null;
  #token: string | null = null;
  /** The socket id the room is bound to; a welcome with another id means we must reclaim. */
  #liveClientId: string | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #unsubscribers: Array<() => void> = [];
  #captureSeq = 0;
  #destroyed = false;
  /** Reclaim retries while our socket stays up but the room's server is away (several nodes). */
  readonly #reclaimRetry = new RetryWindow({
    firstDelayMs: RECLAIM_FIRST_DELAY_MS,
    maxDelayMs: RECLAIM_MAX_DELAY_MS,
    windowMs: RECLAIM_WINDOW_MS,
  });

  constructor(deps: BroadcastSessionDeps) {
    this.#signalling = deps.signalling;
    this.#media = deps.media ?? mediaCapture;
    this.#createMesh = deps.createMesh ?? ((opts) => new BroadcastMesh(opts));
    this.#createUpstream = deps.createUpstream ?? ((opts) => new RelayUpstream(opts));
    this.pathOverride = deps.pathOverride ?? 'auto';
    this.#storage = deps.storage ?? null;
    this.#statsIntervalMs = deps.statsIntervalMs ?? 1000;
    this.screenSupported = this.#media.isScreenCaptureSupported();
  }

  get isLive(): boolean {
    return this.phase === 'live' || this.phase === 'reconnecting';
  }

  /** Connects, opens the camera preview, and resumes a broadcast this tab was running. */
  async init(): Promise<void> {
    const s = this.#signalling;
    this.#unsubscribers.push(
      s.onStateChange((state) => this.handleConnectionState(state)),
      s.onWelcome((welcome) => {
        this.tokenRequired = welcome.broadcastTokenRequired ?? false;
        void this.handleWelcome(welcome.clientId);
      }),
      s.on('viewer_joined', ({ viewerId, mode, iceServers }) =>
        this.handleViewerJoined(viewerId, mode, iceServers),
      ),
      s.on('offer_requested', ({ viewerId, iceServers }) =>
        this.handleOfferRequested(viewerId, iceServers),
      ),
      s.on('relay_demand', (demand) => void this.handleRelayDemand(demand)),
      s.on('sfu_demand', (demand) => this.handleSfuDemand(demand)),
      s.on('keyframe_requested', () => this.#upstream?.requestKeyframe()),
      s.on('viewer_left', ({ viewerId }) => this.#mesh?.removeViewer(viewerId)),
      s.on('signal', (msg) => void this.#mesh?.handleSignal(msg)),
      s.on('stats_summary', (summary) => this.handleStatsSummary(summary)),
      s.on('chat', (message) => this.handleChat(message)),
      s.on('room_closed', ({ roomId, reason }) => this.handleRoomClosed(roomId, reason)),
    );
    this.connection = s.connectionState;
    const connected = s.connect().then(
      () => true,
      () => false,
    );
    await this.startPreview();
    if (!(await connected)) {
      if (!this.#destroyed) this.error = { key: 'error.connect' };
      return;
    }
    const saved = this.#readSaved();
    if (saved && this.phase === 'setup') await this.#reclaim(saved);
  }

  async refreshDevices(): Promise<void> {
    try {
      const { cameras, microphones } = await this.#media.listMediaDevices();
      this.cameras = cameras;
      this.microphones = microphones;
    } catch (err) {
      log.warn('device list failed', err);
    }
  }

  /** (Re)captures the current source; while live the mesh swaps tracks without renegotiating. */
  async startPreview(): Promise<void> {
    const seq = ++this.#captureSeq;
    this.busy = true;
    try {
      const stream =
        this.source === 'screen'
          ? await this.#media.captureScreen({ quality: this.quality, withAudio: true })
          : await this.#media.captureCamera({
              quality: this.quality,
              cameraId: this.cameraId,
              microphoneId: this.microphoneId,
              micEnabled: true,
            });
      // A newer capture or a teardown superseded this one.
      if (seq !== this.#captureSeq || this.#destroyed) {
        this.#media.stopStream(stream);
        return;
      }
      for (const track of stream.getAudioTracks()) track.enabled = this.micEnabled;
      const previous = this.previewStream;
      this.previewStream = stream;
      this.error = null;
      if (this.#mesh) {
        await this.#mesh.setStream(stream);
        await this.#mesh.setQuality(this.quality, this.source);
      }
      if (this.#upstream) {
        if (this.#upstream.running) await this.#upstream.setStream(stream);
        else await this.#upstream.start(stream);
      }
      await this.#sfu?.setStream(stream);
      if (previous && previous !== stream) this.#media.stopStream(previous);
      await this.refreshDevices();
      this.#rememberActiveDevices(stream);
    } catch (err) {
      if (seq === this.#captureSeq) this.error = { key: 'error.media', detail: describe(err) };
    } finally {
      if (seq === this.#captureSeq) this.busy = false;
    }
  }

  async setSource(source: SourceKind): Promise<void> {
    if (source === this.source && this.previewStream) return;
    if (source === 'screen' && !this.screenSupported) return;
    const before = this.source;
    this.source = source;
    await this.startPreview();
    // Screen picker dismissed: stay on the old source rather than going dark.
    if (this.error && source === 'screen' && before === 'camera' && this.previewStream) {
      this.source = before;
    }
  }

  async selectCamera(deviceId: string): Promise<void> {
    this.cameraId = deviceId;
    if (this.source === 'camera') await this.startPreview();
  }

  async selectMicrophone(deviceId: string): Promise<void> {
    this.microphoneId = deviceId;
    if (this.source === 'camera') await this.startPreview();
  }

  toggleMic(): void {
    this.micEnabled = !this.micEnabled;
    for (const track of this.previewStream?.getAudioTracks() ?? []) track.enabled = this.micEnabled;
  }

  async setQuality(quality: QualityPreset): Promise<void> {
    this.quality = quality;
    const track = this.previewStream?.getVideoTracks()[0];
    try {
      if (track) await this.#media.applyQualityToTrack(track, quality);
      await this.#mesh?.setQuality(quality, this.source);
      this.#upstream?.setQuality(quality);
      await this.#sfu?.setQuality(quality);
    } catch (err) {
      log.warn('quality change failed', err);
    }
  }

  setCodecChoice(choice: CodecChoice): void {
    this.codecChoice = choice;
    this.#mesh?.setCodecOrder(codecOrderFor(choice));
  }

  async goLive(): Promise<void> {
    if (this.phase !== 'setup' && this.phase !== 'ended') return;
    this.phase = 'starting';
    this.error = null;
    // Which encoders work in real time is known before the first relay viewer needs one.
    warmUpEncoderProbes(relayCodecOrderFor(this.codecChoice));
    const result = await this.#signalling.request('create_room', this.#roomSettings());
    if (this.#destroyed) return;
    if (!result.ok) {
      this.phase = 'setup';
      this.error =
        result.error.code === 'UNAUTHORIZED' && this.tokenRequired
          ? { key: 'error.broadcastToken' }
          : errorFromCode(result.error.code);
      return;
    }
    this.chat = [];
    this.uploadHistory = [];
    await this.#enterRoom(result.data);
  }

  async stop(): Promise<void> {
    if (!this.isLive) return;
    this.#teardownRoom();
    this.phase = 'ended';
    await this.#signalling.request('leave_room', {});
  }

  /** Back to the setup form after a broadcast ended. */
  reset(): void {
    if (this.phase === 'ended') this.phase = 'setup';
  }

  async sendChat(text: string): Promise<boolean> {
    const trimmed = text.trim();
    if (!trimmed || !this.isLive) return false;
    const result = await this.#signalling.request('chat', { text: trimmed });
    if (!result.ok) this.error = errorFromCode(result.error.code);
    return result.ok;
  }

  /** Leaves the room (if live), releases the camera, and stops listening. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const wasLive = this.isLive;
    this.#teardownRoom();
    if (wasLive) void this.#signalling.request('leave_room', {});
    this.#media.stopStream(this.previewStream);
    this.previewStream = null;
    for (const off of this.#unsubscribers) off();
    this.#unsubscribers = [];
  }

  handleConnectionState(state: ConnectionState): void {
    this.connection = state;
    if (state !== 'connected' && this.phase === 'live') this.phase = 'reconnecting';
  }

  /**
   * Every welcome while live follows a reconnect. Even a recovered socket (same id) lost its seat
   * when it dropped, so the room is always reclaimed; after a server restart the signed token
   * brings the room back under the same code.
   */
  async handleWelcome(clientId: string): Promise<void> {
    if (!this.isLive || !this.roomId || !this.#token) return;
    this.#reclaimRetry.open();
    // Every welcome while live follows a reconnect; even a recovered socket (same id) lost its
    // seat when it dropped, and after a server restart the signed token re-creates the room.
    log.info('reconnected; reclaiming', { sameId: clientId === this.#liveClientId });
    await this.#reclaim({
      roomId: this.roomId,
      broadcasterToken: this.#token,
      ...this.#roomSettings(),
    });
  }

  /** What create_room sends, and what a reclaim resends in case the room must be re-created. */
  #roomSettings(): Omit<SavedBroadcast, 'roomId' | 'broadcasterToken'> {
    const title = this.title.trim();
    return {
      listed: this.listed,
      ...(title ? { title } : {}),
      // ?path=relay makes no peer connections: the server then puts every viewer on the relay.
      ...(this.pathOverride === 'relay' ? { relayOnly: true } : {}),
      ...(this.password ? { password: this.password } : {}),
    };
  }

  handleStatsSummary(summary: StatsSummary): void {
    if (summary.roomId !== this.roomId) return;
    this.viewerCount = summary.viewerCount;
    this.viewers = summary.viewers;
    this.pathCounts = summary.pathCounts;
  }

  /** "Hide my IP address" / ?path=; applies to the next broadcast (the UI locks it while live). */
  setPathOverride(override: PathOverride): void {
    if (this.isLive) return;
    this.pathOverride = override;
  }

  /**
   * Relay viewers (overflow, forced) get no peer connection; ?path=relay makes none at all.
   * `iceServers` are freshly minted by the server (TURN credentials expire during long broadcasts).
   */
  handleViewerJoined(viewerId: string, mode?: ViewerMode, iceServers?: RTCIceServer[]): void {
    // Relay and SFU viewers get their media from the server.
    if ((mode && mode !== 'webrtc') || this.pathOverride === 'relay') return;
    this.#mesh?.addViewer(viewerId, iceServers);
  }

  /** A viewer's ladder retries WebRTC: rebuild its peer (with fresh ICE servers) for a new offer. */
  handleOfferRequested(viewerId: string, iceServers?: RTCIceServer[]): void {
    if (!this.#mesh || this.pathOverride === 'relay') return;
    this.#mesh.removeViewer(viewerId);
    this.#mesh.addViewer(viewerId, iceServers);
  }

  /** The server says whether SFU viewers or WHEP players need our upstream copy to it. */
  handleSfuDemand(demand: SfuDemand): void {
    this.#sfuDemand = demand;
    if (!this.isLive) return;
    if (!this.#sfu && demand.active) {
      this.#sfu = new SfuUpstream({
        publish: (sdp) => this.#signalling.request('sfu_publish', { sdp }),
        unpublish: () => void this.#signalling.request('sfu_unpublish', {}),
        iceServers: () => this.#iceServers,
        quality: this.quality,
        onStatus: (status) => (this.sfuUpstream = status),
      });
    }
    this.#sfu?.handleDemand(demand, this.previewStream);
  }

  /** The server says whether any relay viewer (or egress) needs the WebCodecs upstream. */
  async handleRelayDemand(demand: RelayDemand): Promise<void> {
    this.#demand = demand;
    if (!demand.active) {
      this.#stopUpstream();
      return;
    }
    if (!this.isLive) return;
    let upstream = this.#upstream;
    if (!upstream) {
      this.#upstreamError = null;
      upstream = this.#createUpstream({
        send: (frame) => this.#signalling.sendRelayChunk(frame),
        codecOrder: relayCodecOrderFor(this.codecChoice),
        preferH264: demand.preferH264,
        quality: this.quality,
        onStateChange: (state) => {
          if (upstream !== this.#upstream) return;
          this.#upstreamError = state.error;
          this.#refreshUpstreamStatus();
        },
      });
      this.#upstream = upstream;
    } else {
      upstream.setPreferH264(demand.preferH264);
    }
    this.#refreshUpstreamStatus();
    if (!this.previewStream) return;
    try {
      await upstream.start(this.previewStream);
    } catch (err) {
      log.warn('relay upstream failed to start', err);
      if (upstream === this.#upstream) this.#upstreamError = describe(err);
    }
    if (upstream === this.#upstream) this.#refreshUpstreamStatus();
  }

  /** The server ended our room (an admin, or shutdown): stop sending and say why. */
  handleRoomClosed(roomId: string, reason: string): void {
    if (roomId !== this.roomId || !this.isLive) return;
    // A restart, not an end: keep the capture; the reconnect reclaims the code with the token.
    if (reason === 'server_shutdown') {
      this.phase = 'reconnecting';
      // With several nodes our socket may stay up while the room's node went away: no welcome
      // will come, so reclaim (re-create elsewhere) by ourselves.
      this.#reclaimRetry.open();
      this.#scheduleReclaim();
      return;
    }
    this.#teardownRoom();
    this.phase = 'ended';
    if (reason === 'closed_by_admin') this.error = { key: 'broadcast.closedByAdmin' };
  }

  handleChat(message: ChatMessage): void {
    if (message.roomId !== this.roomId) return;
    this.chat = pushBounded(this.chat, message, CHAT_LOG_LIMIT);
  }

  async #reclaim(saved: SavedBroadcast): Promise<void> {
    const result = await this.#signalling.request('reclaim_room', saved);
    if (this.#destroyed) return;
    if (!result.ok) {
      log.warn('reclaim refused', result.error.code);
      // A dropped socket will bring another welcome; anything else means the room is gone.
      if (result.error.code === 'DISCONNECTED' || result.error.code === 'TIMEOUT') return;
      // The room's node is not answering yet (it may be going away): try again shortly.
      if (result.error.code === 'SERVER_BUSY' && this.#scheduleReclaim()) return;
      const wasLive = this.isLive;
      this.#teardownRoom();
      if (wasLive) {
        this.phase = 'ended';
        this.error = { key: 'error.reclaim' };
      }
      return;
    }
    this.#closeMesh();
    await this.#enterRoom(result.data);
  }

  async #enterRoom(room: CreateRoomResult): Promise<void> {
    this.#reclaimRetry.cancel();
    this.roomId = room.roomId;
    this.#token = room.broadcasterToken;
    this.#liveClientId = this.#signalling.clientId;
    this.#save({
      roomId: room.roomId,
      broadcasterToken: room.broadcasterToken,
      ...this.#roomSettings(),
    });
    const mesh = this.#createMesh({
      signalling: this.#signalling,
      iceServers: room.iceServers,
      iceTransportPolicy: iceTransportPolicyFor(this.pathOverride),
      codecOrder: this.codecOrder,
      quality: this.quality,
      contentKind: this.source,
    });
    this.#mesh = mesh;
    if (this.previewStream) await mesh.setStream(this.previewStream);
    if (this.#mesh !== mesh) return; // stopped meanwhile
    if (this.pathOverride !== 'relay') {
      for (const viewerId of room.viewers) {
        if (!room.relayViewers.includes(viewerId)) mesh.addViewer(viewerId);
      }
    }
    this.viewerCount = room.viewers.length;
    this.phase = this.#signalling.connectionState === 'connected' ? 'live' : 'reconnecting';
    this.#startStatsLoop();
    this.#iceServers = room.iceServers;
    if (this.#demand?.active) void this.handleRelayDemand(this.#demand);
    if (this.#sfuDemand?.active) this.handleSfuDemand(this.#sfuDemand);
  }

  #startStatsLoop(): void {
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => void this.#reportStats(), this.#statsIntervalMs);
  }

  async #reportStats(): Promise<void> {
    const mesh = this.#mesh;
    if (!mesh) return;
    this.#refreshUpstreamStatus();
    try {
      const { totalUploadKbps, peers } = await mesh.collectStats();
      if (mesh !== this.#mesh) return;
      this.uploadHistory = pushBounded(
        this.uploadHistory,
        Math.round(totalUploadKbps),
        UPLOAD_HISTORY_LIMIT,
      );
      this.#signalling.sendStats({ role: 'broadcaster', totalUploadKbps, peers });
    } catch (err) {
      log.debug('stats failed', err);
    }
  }

  #closeMesh(): void {
    this.#mesh?.close();
    this.#mesh = null;
  }

  #refreshUpstreamStatus(): void {
    const upstream = this.#upstream;
    if (!upstream) {
      this.relayUpstream = null;
      return;
    }
    const stats = upstream.stats();
    this.relayUpstream = {
      running: upstream.running,
      // 'avc1.42e01f' → H264: the same names as the WebRTC stats.
      codec: codecNameFromCodecString(stats.codec) ?? stats.codec,
      bitrateKbps: stats.bitrateKbps,
      error: this.#upstreamError,
    };
  }

  #stopUpstream(): void {
    this.#upstream?.stop();
    this.#upstream = null;
    this.#upstreamError = null;
    this.relayUpstream = null;
  }

  /** False once the retry window is over (the caller then gives up). */
  #scheduleReclaim(): boolean {
    return this.#reclaimRetry.schedule(() => {
      if (this.#destroyed || !this.isLive || !this.roomId || !this.#token) return;
      if (this.#signalling.connectionState !== 'connected') return; // the welcome will reclaim
      void this.#reclaim({
        roomId: this.roomId,
        broadcasterToken: this.#token,
        ...this.#roomSettings(),
      });
    });
  }

  #teardownRoom(): void {
    this.#reclaimRetry.cancel();
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
    this.#stopUpstream();
    this.#demand = null;
    this.#sfu?.close();
    this.#sfu = null;
    this.#sfuDemand = null;
    this.sfuUpstream = null;
    this.pathCounts = null;
    this.#closeMesh();
    this.#token = null;
    this.#liveClientId = null;
    this.viewerCount = 0;
    this.viewers = [];
    this.#clearSaved();
  }

  #rememberActiveDevices(stream: MediaStream): void {
    if (this.source !== 'camera') return;
    const videoId = stream.getVideoTracks()[0]?.getSettings?.().deviceId;
    const audioId = stream.getAudioTracks()[0]?.getSettings?.().deviceId;
    if (videoId) this.cameraId = videoId;
    if (audioId) this.microphoneId = audioId;
  }

  #readSaved(): SavedBroadcast | null {
    try {
      const raw = this.#storage?.getItem(RECLAIM_STORAGE_KEY);
      if (!raw) return null;
      const parsed = JSON.parse(raw) as Partial<SavedBroadcast>;
      if (typeof parsed.roomId === 'string' && typeof parsed.broadcasterToken === 'string') {
        // After a reload the form is empty: the saved settings are the room's.
        if (typeof parsed.title === 'string') this.title = parsed.title;
        if (typeof parsed.listed === 'boolean') this.listed = parsed.listed;
        if (typeof parsed.password === 'string') this.password = parsed.password;
        return {
          roomId: parsed.roomId,
          broadcasterToken: parsed.broadcasterToken,
          ...(typeof parsed.title === 'string' ? { title: parsed.title } : {}),
          ...(typeof parsed.listed === 'boolean' ? { listed: parsed.listed } : {}),
          ...(parsed.relayOnly === true ? { relayOnly: true } : {}),
          ...(typeof parsed.password === 'string' ? { password: parsed.password } : {}),
        };
      }
    } catch {
      // unreadable: treat as nothing saved
    }
    return null;
  }

  #save(saved: SavedBroadcast): void {
    try {
      this.#storage?.setItem(RECLAIM_STORAGE_KEY, JSON.stringify(saved));
    } catch {
      // Reclaim after a reload just won't be possible.
    }
  }

  #clearSaved(): void {
    try {
      this.#storage?.removeItem(RECLAIM_STORAGE_KEY);
    } catch {
      // nothing to clear
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? err.name : err.message;
  return String(err);
}
