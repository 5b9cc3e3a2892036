import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  AckResult,
  ClientToServerEvents,
  ErrorCode,
  ServerToClientEvents,
  SignalRequest,
  StatsReport,
  Welcome,
} from '../../../shared';
import { createLogger } from './logger';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
export type ClientErrorCode = ErrorCode | 'TIMEOUT' | 'DISCONNECTED';
export type RequestResult<T> =
  { ok: true; data: T } | { ok: false; error: { code: ClientErrorCode; message: string } };
export type RequestEvent =
  | 'create_room'
  | 'reclaim_room'
  | 'join_room'
  | 'leave_room'
  | 'chat'
  | 'relay_subscribe'
  | 'relay_unsubscribe'
  | 'request_offer'
  | 'egress_set'
  | 'restream_set'
  | 'sfu_publish'
  | 'sfu_unpublish'
  | 'sfu_subscribe'
  | 'sfu_unsubscribe';

/** The `data` type of a request event's successful ack. */
export type AckData<E extends RequestEvent> =
  Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends AckResult<infer T> ? T : never;

export type SignallingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SignallingClientOptions {
  /** Defaults to the page's origin. */
  url?: string;
  /** Read on every (re)connect and sent as the handshake `auth` (e.g. `{ token }`). */
  auth?: () => Record<string, unknown>;
  ioOptions?: Partial<ManagerOptions & SocketOptions>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 8000;

const log = createLogger('signalling');

/** Loose view of the socket for generic emit/on calls that the typed overloads can't express. */
interface UntypedEmitter {
  emit(event: string, ...args: unknown[]): unknown;
  on(event: string, handler: (...args: unknown[]) => void): unknown;
  off(event: string, handler: (...args: unknown[]) => void): unknown;
}

function isAckResult(value: unknown): value is AckResult<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { ok?: unknown }).ok === 'boolean'
  );
}

/**
 * The client's only door to the signalling server: typed requests with acks that never
 * reject, typed server events, and a tracked connection state. Reconnects with backoff.
 */
export class SignallingClient {
  readonly #socket: SignallingSocket;
  #state: ConnectionState = 'disconnected';
  #clientId: string | null = null;
  #firstWelcome: Promise<Welcome> | null = null;
  #rejectFirstWelcome: ((err: Error) => void) | null = null;
  readonly #stateListeners = new Set<(state: ConnectionState) => void>();
  readonly #welcomeListeners = new Set<(welcome: Welcome) => void>();
  #closed = false;

  constructor(opts: SignallingClientOptions = {}) {
    const url = opts.url ?? window.location.origin;
    this.#socket = io(url, {
      // Websocket first: skips the long-poll → upgrade dance and its extra round trips.
      transports: ['websocket'],
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 10_000,
      ...(opts.auth ? { auth: (cb: (data: object) => void) => cb(opts.auth!()) } : {}),
      ...opts.ioOptions,
    });

    this.#socket.on('connect', () => this.#setState('connected'));
    this.#socket.on('disconnect', (reason) => {
      log.info('disconnected', reason);
      // `active` is false only when the disconnect was deliberate (ours or the server's kick).
      this.#setState(this.#socket.active && !this.#closed ? 'reconnecting' : 'disconnected');
    });
    this.#socket.on('connect_error', (err) => {
      log.warn('connect error', err.message);
      if (!this.#closed && this.#socket.active) {
        this.#setState(this.#state === 'connecting' ? 'connecting' : 'reconnecting');
      } else {
        this.#setState('disconnected');
      }
    });
    this.#socket.io.on('reconnect_attempt', () => {
      if (this.#state !== 'connecting') this.#setState('reconnecting');
    });
    this.#socket.on('welcome', (welcome) => {
      this.#clientId = welcome.clientId;
      log.info('welcome', { protocolVersion: welcome.protocolVersion });
      for (const cb of this.#welcomeListeners) cb(welcome);
    });
  }

  /** The id from the latest `welcome`; a reconnect brings a new one. */
  get clientId(): string | null {
    return this.#clientId;
  }

  get connectionState(): ConnectionState {
    return this.#state;
  }

  /** The underlying socket, for tests and diagnostics. */
  get socket(): SignallingSocket {
    return this.#socket;
  }

  /** Connects and resolves with the first `welcome`. Repeated calls share the same promise. */
  connect(): Promise<Welcome> {
    if (this.#firstWelcome) return this.#firstWelcome;
    this.#firstWelcome = new Promise<Welcome>((resolve, reject) => {
      this.#rejectFirstWelcome = reject;
      const off = this.onWelcome((welcome) => {
        off();
        this.#rejectFirstWelcome = null;
        resolve(welcome);
      });
    });
    if (this.#closed) {
      this.#rejectFirstWelcome?.(new Error('signalling client is closed'));
      return this.#firstWelcome;
    }
    this.#setState('connecting');
    this.#socket.connect();
    return this.#firstWelcome;
  }

  /**
   * Drops the connection and opens a new one, so a changed `auth` (a broadcast token typed in)
   * reaches the server. Resolves with the new connection's welcome.
   */
  reconnect(): Promise<Welcome> {
    if (this.#closed) return Promise.reject(new Error('signalling client is closed'));
    const next = new Promise<Welcome>((resolve) => {
      const off = this.onWelcome((welcome) => {
        off();
        resolve(welcome);
      });
    });
    this.#socket.disconnect();
    this.#setState('connecting');
    this.#socket.connect();
    return next;
  }

  /** Sends a request and waits for its ack. Never rejects: failures come back as `ok: false`. */
  request<E extends RequestEvent>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
    timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<RequestResult<AckData<E>>> {
    if (!this.#socket.connected) {
      return Promise.resolve({
        ok: false,
        error: { code: 'DISCONNECTED', message: 'Not connected to the server.' },
      });
    }
    return new Promise((resolve) => {
      const emitter = this.#socket.timeout(timeoutMs) as unknown as UntypedEmitter;
      emitter.emit(event, payload, (err: unknown, result: unknown) => {
        if (err) {
          const disconnected = err instanceof Error && /disconnected/i.test(err.message);
          resolve({
            ok: false,
            error: disconnected
              ? {
                  code: 'DISCONNECTED',
                  message: 'The connection dropped before the server answered.',
                }
              : { code: 'TIMEOUT', message: `No answer to ${event} within ${timeoutMs} ms.` },
          });
          return;
        }
        if (!isAckResult(result)) {
          resolve({
            ok: false,
            error: { code: 'INTERNAL_ERROR', message: 'The server sent a malformed answer.' },
          });
          return;
        }
        resolve(result as RequestResult<AckData<E>>);
      });
    });
  }

  /** Subscribes to a server event; returns the unsubscribe function. */
  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void {
    const emitter = this.#socket as unknown as UntypedEmitter;
    const untyped = handler as unknown as (...args: unknown[]) => void;
    emitter.on(event, untyped);
    return () => {
      emitter.off(event, untyped);
    };
  }

  onStateChange(cb: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(cb);
    return () => {
      this.#stateListeners.delete(cb);
    };
  }

  /** Fires on every (re)connect's welcome; the clientId changes after a reconnect. */
  onWelcome(cb: (welcome: Welcome) => void): () => void {
    this.#welcomeListeners.add(cb);
    return () => {
      this.#welcomeListeners.delete(cb);
    };
  }

  /**
   * Fire-and-forget. Dropped while disconnected: Socket.IO would otherwise buffer it without
   * bound, and a signal sent under an old clientId is useless after a reconnect anyway.
   */
  sendSignal(msg: SignalRequest): void {
    if (!this.#socket.connected) {
      log.debug('signal dropped while disconnected');
      return;
    }
    this.#socket.emit('signal', msg);
  }

  /** Fire-and-forget; dropped while disconnected (the next report supersedes it). */
  sendStats(report: StatsReport): void {
    if (!this.#socket.connected) return;
    this.#socket.emit('stats', report);
  }

  /**
   * One encoded relay chunk (broadcaster only). Dropped while disconnected: buffering media
   * for a reconnect would only replay stale frames; the next keyframe resyncs viewers.
   */
  sendRelayChunk(frame: Uint8Array): void {
    if (!this.#socket.connected) return;
    this.#socket.emit('relay_chunk', frame);
  }

  /** Relay viewer → broadcaster (via the server, which rate-limits): send a keyframe. */
  sendKeyframeRequest(): void {
    if (!this.#socket.connected) return;
    this.#socket.emit('keyframe_request', {});
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.disconnect();
    this.#socket.removeAllListeners();
    this.#socket.io.removeAllListeners();
    this.#rejectFirstWelcome?.(new Error('signalling client closed before welcome'));
    this.#rejectFirstWelcome = null;
    this.#setState('disconnected');
    this.#stateListeners.clear();
    this.#welcomeListeners.clear();
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const cb of this.#stateListeners) cb(state);
  }
}
