import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type Counter as CounterType,
} from 'prom-client';
import { MEDIA_PATHS, type MediaPath, type RoomCode } from '../shared/index';

export const METRICS_PREFIX = 'roomcast_';

/** Signalling handlers answer in well under a millisecond; the tail is what matters. */
const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5];

export interface MetricsSources {
  /** Live rooms in this process. */
  rooms: () => number;
  /** Connected Socket.IO clients in this process. */
  clients: () => number;
}

/**
 * Every Prometheus metric of one app, in its own Registry (not prom-client's global one), so
 * several apps in one test process never collide. Gauges read their value at scrape time;
 * counters are incremented by the code that sees the event.
 */
export class Metrics {
  readonly registry = new Registry();
  /** One viewer-path count per room, from the last stats summary sent for it. */
  readonly #pathCountsByRoom = new Map<RoomCode, Partial<Record<MediaPath, number>>>();

  readonly relayBytesIn: CounterType;
  readonly relayBytesOut: CounterType;
  readonly relayFramesDroppedBacklog: CounterType;
  /** Incremented by egress each time it restarts a crashed ffmpeg. */
  readonly ffmpegRestarts: CounterType;
  readonly joinFailures: CounterType<'code'>;
  /** `scope`: the socket event name, or `http` for the REST API. */
  readonly rateLimited: CounterType<'scope'>;
  readonly signallingLatency: Histogram<'event'>;

  constructor(sources: MetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const name = (n: string) => `${METRICS_PREFIX}${n}`;
    new Gauge({
      name: name('rooms'),
      help: 'Live rooms in this process.',
      registers,
      collect() {
        this.set(sources.rooms());
      },
    });
    new Gauge({
      name: name('connected_clients'),
      help: 'Connected Socket.IO clients.',
      registers,
      collect() {
        this.set(sources.clients());
      },
    });
    const byRoom = this.#pathCountsByRoom;
    new Gauge({
      name: name('viewers'),
      help: 'Viewers by media path, from the latest stats summary of each room.',
      labelNames: ['path'],
      registers,
      collect() {
        const totals = Object.fromEntries(MEDIA_PATHS.map((p) => [p, 0])) as Record<
          MediaPath,
          number
        >;
        for (const counts of byRoom.values()) {
          for (const p of MEDIA_PATHS) totals[p] += counts[p] ?? 0;
        }
        for (const p of MEDIA_PATHS) this.set({ path: p }, totals[p]);
      },
    });
    this.relayBytesIn = new Counter({
      name: name('relay_bytes_in_total'),
      help: 'Relay bytes accepted from broadcasters.',
      registers,
    });
    this.relayBytesOut = new Counter({
      name: name('relay_bytes_out_total'),
      help: 'Relay bytes handed to viewer sockets.',
      registers,
    });
    this.relayFramesDroppedBacklog = new Counter({
      name: name('relay_frames_dropped_backlog_total'),
      help: "Relay chunks not sent to a viewer because of that viewer's backlog.",
      registers,
    });
    this.ffmpegRestarts = new Counter({
      name: name('ffmpeg_restarts_total'),
      help: 'ffmpeg egress processes restarted after a crash.',
      registers,
    });
    this.joinFailures = new Counter({
      name: name('join_failures_total'),
      help: 'join_room requests refused, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.rateLimited = new Counter({
      name: name('rate_limited_total'),
      help: 'Requests refused by a rate limit, by socket event (or http).',
      labelNames: ['scope'],
      registers,
    });
    this.signallingLatency = new Histogram({
      name: name('signalling_handler_seconds'),
      help: 'Time from receiving a socket event to its answer, by event.',
      labelNames: ['event'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    }
  }

  /** Called with each room's stats summary; `null` when the room is gone. */
  recordPathCounts(roomId: RoomCode, counts: Partial<Record<MediaPath, number>> | null): void {
    if (counts === null) this.#pathCountsByRoom.delete(roomId);
    else this.#pathCountsByRoom.set(roomId, { ...counts });
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
