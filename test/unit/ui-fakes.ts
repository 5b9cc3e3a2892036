/** Fakes for the client lib, shared by the session state-machine tests. */
import type { ServerToClientEvents, Welcome } from '../../shared/index';
import type {
  ConnectionState,
  RequestEvent,
  RequestResult,
} from '../../client/src/lib/signalling-client';
import type { SignallingPort } from '../../client/src/state/ports';

type Handler = (payload: never) => void;
type Responder = (payload: unknown) => RequestResult<unknown>;

export class FakeSignalling {
  clientId: string | null = null;
  connectionState: ConnectionState = 'disconnected';
  nextClientId = 'client-1';
  connectCalls = 0;
  failConnect = false;
  requests: Array<{ event: RequestEvent; payload: unknown }> = [];
  responders: Partial<Record<RequestEvent, Responder>> = {};
  signals: unknown[] = [];
  stats: unknown[] = [];
  relayChunks: Uint8Array[] = [];
  keyframeRequests = 0;
  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #stateCbs = new Set<(s: ConnectionState) => void>();
  readonly #welcomeCbs = new Set<(w: Welcome) => void>();

  asPort(): SignallingPort {
    return this as unknown as SignallingPort;
  }

  async connect(): Promise<Welcome> {
    this.connectCalls += 1;
    if (this.failConnect) throw new Error('unreachable');
    this.setState('connected');
    return this.welcome(this.nextClientId);
  }

  async request(event: RequestEvent, payload: unknown): Promise<RequestResult<unknown>> {
    this.requests.push({ event, payload });
    const responder = this.responders[event];
    return responder ? responder(payload) : { ok: true, data: null };
  }

  requestsOf(event: RequestEvent): unknown[] {
    return this.requests.filter((r) => r.event === event).map((r) => r.payload);
  }

  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]) {
    const set = this.#handlers.get(event) ?? new Set<Handler>();
    set.add(handler as unknown as Handler);
    this.#handlers.set(event, set);
    return () => set.delete(handler as unknown as Handler);
  }

  emit<E extends keyof ServerToClientEvents>(
    event: E,
    payload: Parameters<ServerToClientEvents[E]>[0],
  ) {
    for (const h of this.#handlers.get(event) ?? []) h(payload as never);
  }

  listenerCount(): number {
    let n = this.#stateCbs.size + this.#welcomeCbs.size;
    for (const set of this.#handlers.values()) n += set.size;
    return n;
  }

  onStateChange(cb: (s: ConnectionState) => void) {
    this.#stateCbs.add(cb);
    return () => this.#stateCbs.delete(cb);
  }

  onWelcome(cb: (w: Welcome) => void) {
    this.#welcomeCbs.add(cb);
    return () => this.#welcomeCbs.delete(cb);
  }

  setState(state: ConnectionState): void {
    this.connectionState = state;
    for (const cb of this.#stateCbs) cb(state);
  }

  welcome(clientId: string): Welcome {
    this.clientId = clientId;
    const w: Welcome = { clientId, protocolVersion: 1, iceServers: [] };
    for (const cb of this.#welcomeCbs) cb(w);
    return w;
  }

  sendSignal(msg: unknown): void {
    this.signals.push(msg);
  }

  sendStats(report: unknown): void {
    this.stats.push(report);
  }

  sendRelayChunk(frame: Uint8Array): void {
    this.relayChunks.push(frame);
  }

  sendKeyframeRequest(): void {
    this.keyframeRequests += 1;
  }

  close(): void {}
}

export class FakeTrack {
  enabled = true;
  stopped = false;
  constructor(
    readonly kind: 'audio' | 'video',
    readonly deviceId = `${kind}-dev`,
  ) {}
  stop() {
    this.stopped = true;
  }
  getSettings() {
    return { deviceId: this.deviceId };
  }
}

export class FakeStream {
  readonly tracks: FakeTrack[];
  constructor(readonly label: string) {
    this.tracks = [new FakeTrack('video'), new FakeTrack('audio')];
  }
  getTracks() {
    return this.tracks;
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
}

/** Let pending promise chains settle. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
