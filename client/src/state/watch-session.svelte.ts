import {
  ROOM_CODE_PATTERN,
  type ChatMessage,
  type JoinRoomResult,
  type PeerStatsDigest,
  type RoomCode,
  type StatsSummary,
} from '../../../shared/index';
import { createLogger } from '../lib/logger';
import { ViewerLink } from '../lib/viewer-link';
import {
  errorFromCode,
  pushBounded,
  type CreateLink,
  type LinkPort,
  type SignallingPort,
  type UiError,
} from './ports';

export type WatchState =
  'connecting' | 'waiting' | 'playing' | 'reconnecting' | 'ended' | 'not-found' | 'full' | 'error';

export interface WatchSessionDeps {
  signalling: SignallingPort;
  createLink?: CreateLink;
  statsIntervalMs?: number;
}

export const WATCH_CHAT_LIMIT = 200;

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

  path = $derived(this.digest?.path ?? null);
  codec = $derived(this.digest?.codec || null);
  viewerCount = $derived(this.summary?.viewerCount ?? null);

  readonly #signalling: SignallingPort;
  readonly #createLink: CreateLink;
  readonly #statsIntervalMs: number;
  #link: LinkPort | null = null;
  #broadcasterId: string | null = null;
  #iceServers: RTCIceServer[] = [];
  /** The socket id we joined with; a welcome with another id means the server forgot us. */
  #joinedClientId: string | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #unsubscribers: Array<() => void> = [];
  #destroyed = false;

  constructor(deps: WatchSessionDeps) {
    this.#signalling = deps.signalling;
    this.#createLink = deps.createLink ?? ((opts) => new ViewerLink(opts));
    this.#statsIntervalMs = deps.statsIntervalMs ?? 1000;
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
      s.on('broadcaster_status', (status) => this.handleBroadcasterStatus(status)),
      s.on('room_closed', (closed) => this.handleRoomClosed(closed.roomId)),
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

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const wasInRoom = this.#joinedClientId !== null && !this.isTerminal;
    this.#closeLink();
    this.#stopStats();
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

  /** After a reconnect the server has a new socket for us and has dropped the old one: rejoin. */
  async handleWelcome(clientId: string): Promise<void> {
    if (this.isTerminal || this.#destroyed || this.#joinedClientId === null) return;
    if (clientId === this.#joinedClientId) return;
    this.#closeLink();
    await this.#join();
  }

  handleBroadcasterStatus(status: { roomId: string; broadcasterId: string; online: boolean }) {
    if (status.roomId !== this.roomId || this.isTerminal) return;
    this.broadcasterOnline = status.online;
    if (!status.online) return; // keep the old link: media may still flow peer to peer
    if (status.broadcasterId !== this.#broadcasterId || !this.#link) {
      // A reclaimed room has a new broadcaster socket that will send a fresh offer.
      this.#broadcasterId = status.broadcasterId;
      this.#closeLink();
      this.#openLink();
    }
  }

  handleRoomClosed(roomId: string): void {
    if (roomId !== this.roomId) return;
    this.#closeLink();
    this.#stopStats();
    this.state = 'ended';
  }

  handleStatsSummary(summary: StatsSummary): void {
    if (summary.roomId !== this.roomId) return;
    this.summary = summary;
  }

  handleChat(message: ChatMessage): void {
    if (message.roomId !== this.roomId) return;
    this.chat = pushBounded(this.chat, message, WATCH_CHAT_LIMIT);
  }

  async #join(): Promise<void> {
    const result = await this.#signalling.request('join_room', { roomId: this.roomId as RoomCode });
    if (this.#destroyed) return;
    if (!result.ok) {
      const code = result.error.code;
      if (code === 'ROOM_NOT_FOUND') this.state = this.#joinedClientId ? 'ended' : 'not-found';
      else if (code === 'ROOM_FULL') this.state = 'full';
      else if (code === 'DISCONNECTED' || code === 'TIMEOUT') this.state = 'reconnecting';
      else this.#fail(errorFromCode(code));
      return;
    }
    this.#enterRoom(result.data);
  }

  #enterRoom(room: JoinRoomResult): void {
    this.#joinedClientId = this.#signalling.clientId;
    this.#broadcasterId = room.broadcasterId;
    this.#iceServers = room.iceServers;
    this.title = room.title;
    this.broadcasterOnline = room.broadcasterOnline;
    this.#openLink();
    this.#startStats();
  }

  #openLink(): void {
    if (!this.#broadcasterId) return;
    this.stream = null;
    this.state = this.broadcasterOnline ? 'connecting' : 'waiting';
    const link = this.#createLink({
      signalling: this.#signalling,
      broadcasterId: this.#broadcasterId,
      iceServers: this.#iceServers,
      onStream: (stream) => {
        if (link !== this.#link || this.isTerminal) return;
        this.stream = stream;
        this.state = 'playing';
      },
      onStateChange: (state) => log.debug('peer connection', state),
    });
    this.#link = link;
  }

  #closeLink(): void {
    this.#link?.close();
    this.#link = null;
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
    if (!link) return;
    try {
      const digest = await link.collectStats();
      if (!digest || link !== this.#link) return;
      this.digest = digest;
      this.#signalling.sendStats({ role: 'viewer', inbound: digest });
    } catch (err) {
      log.debug('stats failed', err);
    }
  }

  #fail(error: UiError): void {
    this.#closeLink();
    this.#stopStats();
    this.error = error;
    this.state = 'error';
  }
}
