import {
  ROOM_CODE_PATTERN,
  SFU_SUBSCRIBE_TIMEOUT_MS,
  hlsPlaylistPath,
  type ChatMessage,
  type JoinRoomResult,
  type ModeReason,
  type PeerStatsDigest,
  type RoomClosed,
  type RoomCode,
  type StatsSummary,
} from '../../../shared/index';
import {
  ConnectionLadder,
  type HlsCause,
  type LadderClock,
  type LadderSnapshot,
  type OpenWebRtcRequest,
} from '../lib/connection-ladder';
import type { HlsPlayerSnapshot } from '../lib/hls-player';
import { RetryWindow } from '../lib/retry-window';
import { createLogger } from '../lib/logger';
import type { PathOverride } from '../lib/path-override';
import { pathReasonFor, pathReasonText, type PathReason } from '../lib/path-reason';
import { RelayPlayer } from '../lib/relay-player';
import { SfuLink, type SfuLinkOptions } from '../lib/sfu-link';
import { ViewerLink } from '../lib/viewer-link';
import {
  errorFromCode,
  pushBounded,
  type CreateLink,
  type CreateRelayPlayer,
  type LinkPort,
  type RelayPlayerPort,
  type SignallingPort,
  type UiError,
} from './ports';

export type WatchState =
  'connecting' | 'waiting' | 'playing' | 'reconnecting' | 'ended' | 'not-found' | 'full' | 'error';

export interface WatchSessionDeps {
  signalling: SignallingPort;
  createLink?: CreateLink;
  createRelayPlayer?: CreateRelayPlayer;
  /** ?path= from the URL; `auto` by default. */
  pathOverride?: PathOverride;
  /** Ladder timers; tests use fake timers or a manual clock. */
  clock?: LadderClock;
  statsIntervalMs?: number;
  /** False where WebCodecs is missing, so the relay cannot play; detected for the real player. */
  relayPlayable?: boolean;
  /** The viewer's connection to the server's SFU (tests pass a fake). */
  createSfuLink?: (opts: SfuLinkOptions) => SfuLinkPort;
}

export type SfuLinkPort = Pick<
  SfuLink,
  'collectStats' | 'probeFramesDecoded' | 'close' | 'framesDecoded'
>;

/** What the page's HLS player should play while the ladder is on HLS. */
export interface HlsSource {
  playlistUrl: string;
  cause: HlsCause;
}

/** WebCodecs decoders exist (the relay player needs them). */
export function canDecodeRelay(): boolean {
  return typeof VideoDecoder !== 'undefined' && typeof AudioDecoder !== 'undefined';
}

export const WATCH_CHAT_LIMIT = 200;
/** How often a WebRTC link that has no frames yet is asked whether it has some now. */
export const FRAME_PROBE_INTERVAL_MS = 250;

/** How long a viewer keeps rejoining a room that is gone after a reconnect (server restart). */
export const REJOIN_WINDOW_MS = 60_000;
const REJOIN_FIRST_DELAY_MS = 1000;
const REJOIN_MAX_DELAY_MS = 8000;

const TERMINAL: ReadonlySet<WatchState> = new Set(['ended', 'not-found', 'full', 'error']);
const log = createLogger('watch-session');

/** One viewer's life in a room: join, the link to the broadcaster, stats and chat. */
export class WatchSession {
  state = $state<WatchState>('connecting');
  roomId = $state<string>('');
  title = $state('');
  stream = $state.raw<MediaStream | null>(null);
  /** Our own inbound stats, refreshed every second. */
  digest = $state.raw<PeerStatsDigest | null>(null);
  summary = $state.raw<StatsSummary | null>(null);
  chat = $state.raw<ChatMessage[]>([]);
  error = $state<UiError | null>(null);
  /** False while the broadcaster is in its reclaim grace period. */
  broadcasterOnline = $state(true);

  /** The connection ladder's state: which path is active and why. */
  ladder = $state.raw<LadderSnapshot | null>(null);
  pathOverride = $state<PathOverride>('auto');
  /** The room's public HLS mirror is on (join ack, then every stats_summary). */
  hlsMirror = $state(false);
  /** Set while the ladder plays HLS: the page mounts an HLS player for it. */
  hls = $state.raw<HlsSource | null>(null);
  /** The page's HLS player, as it reports itself. */
  hlsPlayer = $state.raw<HlsPlayerSnapshot | null>(null);

  /** The ACTIVE path: the relay, HLS or the SFU whenever they feed the video. */
  path = $derived(
    this.ladder?.active === 'relay' ||
      this.ladder?.active === 'hls' ||
      this.ladder?.active === 'sfu'
      ? this.ladder.active
      : (this.digest?.path ?? null),
  );
  codec = $derived(this.digest?.codec || null);
  viewerCount = $derived(this.summary?.viewerCount ?? null);
  /** Why we are on this path (null on a plain direct path). */
  reason = $derived<PathReason | null>(
    this.ladder ? pathReasonFor(this.ladder, this.digest) : null,
  );

  readonly #signalling: SignallingPort;
  readonly #createLink: CreateLink;
  readonly #createRelayPlayer: CreateRelayPlayer;
  readonly #statsIntervalMs: number;
  readonly #relayPlayable: boolean;
  readonly #ladder: ConnectionLadder;
  #link: LinkPort | null = null;
  #webrtcStream: MediaStream | null = null;
  #player: RelayPlayerPort | null = null;
  #relayStream: MediaStream | null = null;
  readonly #createSfuLink: (opts: SfuLinkOptions) => SfuLinkPort;
  #sfu: SfuLinkPort | null = null;
  #sfuStream: MediaStream | null = null;
  #broadcasterId: string | null = null;
  #iceServers: RTCIceServer[] = [];
  /** Bumped by every close, so a link waiting for its request_offer ack knows it is stale. */
  #linkGeneration = 0;
  /** The socket id we joined with; a welcome with another id means the server forgot us. */
  #joinedClientId: string | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #probeTimer: ReturnType<typeof setInterval> | null = null;
  #probing = false;
  #unsubscribers: Array<() => void> = [];
  #destroyed = false;
  /** The room password the viewer typed; rejoins after a reconnect reuse it. */
  #password = '';
  /** Rejoin retries after a reconnect found no room (the broadcaster has not reclaimed yet). */
  readonly #rejoin = new RetryWindow({
    firstDelayMs: REJOIN_FIRST_DELAY_MS,
    maxDelayMs: REJOIN_MAX_DELAY_MS,
    windowMs: REJOIN_WINDOW_MS,
  });

  constructor(deps: WatchSessionDeps) {
    this.#signalling = deps.signalling;
    this.#createLink = deps.createLink ?? ((opts) => new ViewerLink(opts));
    this.#createRelayPlayer = deps.createRelayPlayer ?? ((opts) => new RelayPlayer(opts));
    this.#createSfuLink = deps.createSfuLink ?? ((opts) => new SfuLink(opts));
    this.#statsIntervalMs = deps.statsIntervalMs ?? 1000;
    // The real RelayPlayer needs WebCodecs; an injected player says so itself.
    this.#relayPlayable = deps.relayPlayable ?? (deps.createRelayPlayer ? true : canDecodeRelay());
    this.pathOverride = deps.pathOverride ?? 'auto';
    this.#ladder = new ConnectionLadder({
      clock: deps.clock,
      override: this.pathOverride,
      effects: {
        openWebRtc: (req) => this.#openLink(req),
        closeWebRtc: () => this.#closeLink(),
        openRelay: (reason) => void this.#openRelay(reason),
        closeRelay: (unsubscribe) => this.#closeRelay(unsubscribe),
        openHls: (cause) => this.#openHls(cause),
        closeHls: () => this.#closeHls(),
        openSfu: (reason) => this.#openSfu(reason),
        closeSfu: (unsubscribe) => this.#closeSfu(unsubscribe),
        onChange: (snapshot) => this.#handleLadder(snapshot),
      },
    });
  }

  get isTerminal(): boolean {
    return TERMINAL.has(this.state);
  }

  /** Joins `room`. A malformed code goes straight to not-found without touching the server. */
  async start(room: string): Promise<void> {
    this.roomId = room;
    if (!ROOM_CODE_PATTERN.test(room)) {
      this.state = 'not-found';
      return;
    }
    const s = this.#signalling;
    this.#unsubscribers.push(
      s.onStateChange((state) => this.handleConnectionState(state)),
      s.onWelcome((welcome) => void this.handleWelcome(welcome.clientId)),
      s.on('signal', (msg) => void this.#link?.handleSignal(msg)),
      s.on('relay_chunk', (frame) => this.#player?.handleChunk(frame)),
      s.on('broadcaster_status', (status) => this.handleBroadcasterStatus(status)),
      s.on('room_closed', (closed) => this.handleRoomClosed(closed.roomId, closed.reason)),
      s.on('stats_summary', (summary) => this.handleStatsSummary(summary)),
      s.on('chat', (message) => this.handleChat(message)),
    );
    this.state = 'connecting';
    try {
      await s.connect();
    } catch {
      if (!this.#destroyed) this.#fail({ key: 'error.connect' });
      return;
    }
    await this.#join();
  }

  async sendChat(text: string): Promise<boolean> {
    const trimmed = text.trim();
    if (!trimmed || this.isTerminal) return false;
    const result = await this.#signalling.request('chat', { text: trimmed });
    return result.ok;
  }

  /** "Switch to HLS": play the public mirror here (a few seconds behind, but plays anywhere). */
  chooseHls(): void {
    this.#ladder.chooseHls();
  }

  /** "Back to low latency": leave HLS and climb the ladder again. */
  leaveHls(): void {
    this.#ladder.leaveHls();
  }

  /** The page's HLS player changed state. */
  handleHlsPlayer(snapshot: HlsPlayerSnapshot): void {
    if (!this.hls || this.#destroyed) return;
    this.hlsPlayer = snapshot;
    if (snapshot.state === 'playing') this.#ladder.hlsFrames();
    // An error, or ENDLIST (the mirror was switched off): go back to the other paths.
    else if (snapshot.state === 'error' || snapshot.state === 'ended') this.#ladder.hlsFailed();
    this.#showActive();
  }

  /** ?path= or the "hide my IP address" toggle changed mid-session. */
  setPathOverride(override: PathOverride): void {
    this.pathOverride = override;
    this.#ladder.setOverride(override);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const wasInRoom = this.#joinedClientId !== null && !this.isTerminal;
    // leave_room below drops any relay subscription too.
    this.#ladder.stop(false);
    this.#stopStats();
    this.#rejoin.cancel();
    for (const off of this.#unsubscribers) off();
    this.#unsubscribers = [];
    if (wasInRoom) void this.#signalling.request('leave_room', {});
  }

  handleConnectionState(state: 'connecting' | 'connected' | 'reconnecting' | 'disconnected') {
    if (this.isTerminal || this.#destroyed) return;
    if (state === 'reconnecting' || (state === 'disconnected' && this.#joinedClientId)) {
      this.state = 'reconnecting';
    }
  }

  /**
   * Every welcome after the join follows a reconnect. The server dropped us (and our relay
   * subscription) when the socket went, even if Socket.IO recovered the same id: rejoin.
   */
  async handleWelcome(clientId: string): Promise<void> {
    if (this.isTerminal || this.#destroyed || this.#joinedClientId === null) return;
    log.info('reconnected; rejoining', { sameId: clientId === this.#joinedClientId });
    this.#ladder.stop(false);
    this.#rejoin.open();
    await this.#join();
  }

  handleBroadcasterStatus(status: { roomId: string; broadcasterId: string; online: boolean }) {
    if (status.roomId !== this.roomId || this.isTerminal) return;
    const wasOffline = !this.broadcasterOnline;
    this.broadcasterOnline = status.online;
    this.#ladder.setBroadcasterOnline(status.online);
    if (!status.online) return; // keep the old link: media may still flow peer to peer
    const phase = this.#ladder.snapshot.phase;
    if (
      status.broadcasterId !== this.#broadcasterId ||
      // A reclaim always rebuilds the broadcaster's peer connections, even under a recovered id.
      wasOffline ||
      (!this.#link && (phase === 'webrtc' || phase === 'webrtc-trying'))
    ) {
      // A reclaimed room has a new broadcaster socket that will send a fresh offer.
      this.#broadcasterId = status.broadcasterId;
      this.#ladder.broadcasterChanged();
    }
  }

  handleRoomClosed(roomId: string, reason?: RoomClosed['reason']): void {
    if (roomId !== this.roomId) return;
    this.#ladder.stop(false);
    this.#stopStats();
    this.#rejoin.cancel();
    if (reason === 'server_shutdown' && this.#joinedClientId !== null) {
      // A restart, most likely: the broadcaster reclaims on the next process and the welcome
      // after our reconnect rejoins (retrying until the room is back). With several nodes our
      // own socket may stay up while the room's node went away: rejoin without a welcome too.
      this.state = 'reconnecting';
      this.#rejoin.open();
      this.#retryRejoin();
      return;
    }
    this.state = 'ended';
  }

  handleStatsSummary(summary: StatsSummary): void {
    if (summary.roomId !== this.roomId) return;
    this.summary = summary;
    this.hlsMirror = summary.hlsMirror;
    if (!this.isTerminal) this.#ladder.setHlsAvailable(summary.hlsMirror);
  }

  handleChat(message: ChatMessage): void {
    if (message.roomId !== this.roomId) return;
    this.chat = pushBounded(this.chat, message, WATCH_CHAT_LIMIT);
  }

  /** After "not found": the room may have a password. Joins again with it. */
  async retryWithPassword(password: string): Promise<void> {
    if (this.state !== 'not-found' || !ROOM_CODE_PATTERN.test(this.roomId)) return;
    this.#password = password;
    this.state = 'connecting';
    await this.#join();
  }

  async #join(): Promise<void> {
    const result = await this.#signalling.request('join_room', {
      roomId: this.roomId as RoomCode,
      ...(this.#password ? { password: this.#password } : {}),
    });
    if (this.#destroyed) return;
    if (!result.ok) {
      const code = result.error.code;
      if (code === 'ROOM_NOT_FOUND' && this.#retryRejoin()) this.state = 'reconnecting';
      else if (code === 'ROOM_NOT_FOUND') {
        this.state = this.#joinedClientId ? 'ended' : 'not-found';
      } else if (code === 'ROOM_FULL') this.state = 'full';
      else if (code === 'DISCONNECTED' || code === 'TIMEOUT') this.state = 'reconnecting';
      else this.#fail(errorFromCode(code));
      return;
    }
    this.#enterRoom(result.data);
  }

  /**
   * After a server restart the room exists again only once its broadcaster has reclaimed it:
   * a rejoin that finds no room retries with backoff until REJOIN_WINDOW_MS has passed.
   */
  #retryRejoin(): boolean {
    if (this.#joinedClientId === null) return false;
    return this.#rejoin.schedule(() => {
      if (!this.#destroyed && !this.isTerminal) void this.#join();
    });
  }

  #enterRoom(room: JoinRoomResult): void {
    this.#rejoin.close();
    this.#joinedClientId = this.#signalling.clientId;
    this.#broadcasterId = room.broadcasterId;
    this.#iceServers = room.iceServers;
    this.title = room.title;
    this.broadcasterOnline = room.broadcasterOnline;
    this.hlsMirror = room.hlsMirror;
    this.#ladder.start({
      hlsAvailable: room.hlsMirror,
      relayPlayable: this.#relayPlayable,
      mode: room.mode,
      modeReason: room.modeReason,
      relayAvailable: room.relayAvailable,
      ladder: room.ladder,
      broadcasterOnline: room.broadcasterOnline,
    });
    this.#startStats();
  }

  /**
   * Ladder effect: a new WebRTC link (the main one, or a background trial while on the relay).
   * A fresh one first asks the broadcaster to start over (request_offer); its ack carries newly
   * minted ICE servers, because the join ack's TURN credentials expire (TURN_TTL_S). The
   * broadcaster's offer can only arrive after that ack, so the link is made when the ack is in.
   */
  #openLink(req: OpenWebRtcRequest): void {
    this.#closeLink();
    if (!this.#broadcasterId) return;
    this.#webrtcStream = null;
    if (!req.fresh) {
      this.#makeLink(req);
      return;
    }
    const generation = this.#linkGeneration;
    void this.#signalling.request('request_offer', {}).then((result) => {
      if (generation !== this.#linkGeneration || this.#destroyed || this.isTerminal) return;
      if (result.ok && result.data?.iceServers) this.#iceServers = result.data.iceServers;
      this.#makeLink(req);
    });
  }

  #makeLink(req: OpenWebRtcRequest): void {
    if (!this.#broadcasterId) return;
    const link = this.#createLink({
      signalling: this.#signalling,
      broadcasterId: this.#broadcasterId,
      iceServers: this.#iceServers,
      iceTransportPolicy: req.iceTransportPolicy,
      onStream: (stream) => {
        if (link !== this.#link || this.isTerminal) return;
        this.#webrtcStream = stream;
        this.#showActive();
      },
      onStateChange: (state) => log.debug('peer connection', state),
      onUndecodableOffer: (codecs) => {
        if (link === this.#link && !this.isTerminal) this.#ladder.webRtcUndecodable(codecs);
      },
    });
    this.#link = link;
    if (!req.background) this.#showActive();
  }

  #closeLink(): void {
    // Also cancels a link still waiting for its request_offer ack.
    this.#linkGeneration += 1;
    this.#link?.close();
    this.#link = null;
    this.#webrtcStream = null;
  }

  /** Ladder effect: play from the WebSocket relay. */
  async #openRelay(reason: ModeReason): Promise<void> {
    this.#closeRelay(false);
    const player = this.#createRelayPlayer({
      onStream: (stream) => {
        if (player !== this.#player || this.isTerminal) return;
        this.#relayStream = stream;
        this.#showActive();
      },
      requestKeyframe: () => this.#signalling.sendKeyframeRequest(),
      onFirstFrame: () => {
        if (player === this.#player) this.#ladder.relayFrames();
      },
      onUnplayable: () => {
        if (player === this.#player) this.#ladder.relayUnplayable();
      },
    });
    this.#player = player;
    this.#showActive();
    const result = await this.#signalling.request('relay_subscribe', { reason });
    if (player !== this.#player || this.#destroyed) return;
    if (!result.ok) {
      log.warn('relay_subscribe refused', result.error.code);
      this.#ladder.relayFailed();
    }
  }

  #closeRelay(unsubscribe: boolean): void {
    if (this.#player) {
      this.#player.close();
      this.#player = null;
    }
    this.#relayStream = null;
    if (unsubscribe && !this.#destroyed) void this.#signalling.request('relay_unsubscribe', {});
  }

  /** Ladder effect: WebRTC to the server's SFU (the broadcaster's upstream copy). */
  #openSfu(reason: ModeReason): void {
    this.#closeSfu(false);
    const link = this.#createSfuLink({
      subscribe: (sdp) =>
        this.#signalling.request('sfu_subscribe', { sdp, reason }, SFU_SUBSCRIBE_TIMEOUT_MS),
      iceServers: this.#iceServers,
      onStream: (stream) => {
        if (link !== this.#sfu || this.isTerminal) return;
        this.#sfuStream = stream;
        this.#showActive();
      },
      onFailed: (code, message) => {
        if (link !== this.#sfu || this.#destroyed) return;
        log.warn('sfu failed', code, message);
        this.#ladder.sfuFailed(
          code === 'CODEC_UNSUPPORTED'
            ? { kind: 'codec', codec: /receive (\w+) over/.exec(message)?.[1] ?? null }
            : { kind: 'unavailable' },
        );
      },
    });
    this.#sfu = link;
    this.#showActive();
  }

  #closeSfu(unsubscribe: boolean): void {
    const had = this.#sfu !== null;
    this.#sfu?.close();
    this.#sfu = null;
    this.#sfuStream = null;
    if (had && unsubscribe && !this.#destroyed) {
      void this.#signalling.request('sfu_unsubscribe', {});
    }
  }

  /** Ladder effect: the page mounts an HLS player on the mirror. */
  #openHls(cause: HlsCause): void {
    this.hlsPlayer = null;
    this.hls = { playlistUrl: hlsPlaylistPath(this.roomId), cause };
  }

  #closeHls(): void {
    this.hls = null;
    this.hlsPlayer = null;
  }

  #handleLadder(snapshot: LadderSnapshot): void {
    const switched = snapshot.active !== this.ladder?.active;
    this.ladder = snapshot;
    this.#syncProbe(
      snapshot.phase === 'webrtc-trying' ||
        snapshot.retrying ||
        (snapshot.phase === 'sfu' && !snapshot.sfuPlaying),
    );
    // The other path's numbers would be wrong for a second; the next report refills them.
    if (switched) this.digest = null;
    this.#showActive();
  }

  /** Puts the active path's stream on the <video> and derives the watch state from it. */
  #showActive(): void {
    if (this.isTerminal || this.#destroyed) return;
    const active = this.#ladder.snapshot.active;
    if (active === null) return;
    if (active === 'hls') {
      // The HLS player owns its <video>; no MediaStream here.
      if (this.stream !== null) this.stream = null;
      if (this.hlsPlayer?.state === 'playing') this.state = 'playing';
      else if (this.state !== 'reconnecting') this.state = 'connecting';
      return;
    }
    const stream =
      active === 'relay'
        ? this.#relayStream
        : active === 'sfu'
          ? this.#sfuStream
          : this.#webrtcStream;
    if (this.stream !== stream) this.stream = stream;
    if (stream) this.state = 'playing';
    else if (this.state !== 'reconnecting' || this.#signalling.connectionState === 'connected') {
      this.state = this.broadcasterOnline ? 'connecting' : 'waiting';
    }
  }

  /** Polls the WebRTC link for its first decoded frames while the ladder waits for them. */
  #syncProbe(waiting: boolean): void {
    if (waiting && !this.#probeTimer && !this.#destroyed) {
      this.#probeTimer = setInterval(() => void this.#probe(), FRAME_PROBE_INTERVAL_MS);
    } else if (!waiting && this.#probeTimer) {
      clearInterval(this.#probeTimer);
      this.#probeTimer = null;
    }
  }

  async #probe(): Promise<void> {
    const sfu = this.#sfu;
    if (sfu && !this.#probing) {
      this.#probing = true;
      try {
        if ((await sfu.probeFramesDecoded()) > 0 && sfu === this.#sfu) this.#ladder.sfuFrames();
      } finally {
        this.#probing = false;
      }
      return;
    }
    const link = this.#link;
    if (!link || this.#probing) return;
    this.#probing = true;
    try {
      const frames = await link.probeFramesDecoded();
      if (frames > 0 && link === this.#link) this.#ladder.webRtcFrames();
    } finally {
      this.#probing = false;
    }
  }

  #startStats(): void {
    this.#stopStats();
    this.#statsTimer = setInterval(() => void this.#reportStats(), this.#statsIntervalMs);
  }

  #stopStats(): void {
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
  }

  async #reportStats(): Promise<void> {
    const link = this.#link;
    const player = this.#player;
    let webrtcDigest: PeerStatsDigest | null = null;
    try {
      if (link) {
        webrtcDigest = await link.collectStats();
        if (link !== this.#link) return;
        if (link.framesDecoded > 0) this.#ladder.webRtcFrames();
      }
    } catch (err) {
      log.debug('stats failed', err);
    }
    if (player && player === this.#player && player.framesDecoded > 0) this.#ladder.relayFrames();
    const snapshot = this.#ladder.snapshot;
    let digest: PeerStatsDigest | null = null;
    if (snapshot.active === 'hls') {
      digest = this.hlsPlayer ? hlsDigest(this.hlsPlayer) : null;
    } else if (snapshot.active === 'relay') {
      digest = this.#player ? this.#player.collectStats() : null;
      if (digest) digest = { ...digest, path: 'relay' };
    } else if (snapshot.active === 'webrtc' && link === this.#link) {
      digest = webrtcDigest;
    } else if (snapshot.active === 'sfu' && this.#sfu) {
      const sfu = this.#sfu;
      digest = await sfu.collectStats();
      if (sfu !== this.#sfu) return;
      if (sfu.framesDecoded > 0) this.#ladder.sfuFrames();
    }
    if (!digest) return;
    const reason = pathReasonText(pathReasonFor(snapshot, digest));
    digest = { ...digest, pathReason: reason };
    this.digest = digest;
    this.#signalling.sendStats({ role: 'viewer', inbound: digest });
  }

  #fail(error: UiError): void {
    this.#ladder.stop(false);
    this.#stopStats();
    this.error = error;
    this.state = 'error';
  }
}

/** The HLS player's numbers in the shape of a stats digest (path `hls`). */
export function hlsDigest(player: HlsPlayerSnapshot): PeerStatsDigest {
  return {
    path: 'hls',
    codec: '',
    bitrateKbps: player.bitrateKbps,
    fps: 0,
    width: player.width,
    height: player.height,
    rttMs: null,
    lossPct: null,
    candidateType: null,
    protocol: 'http',
  };
}
