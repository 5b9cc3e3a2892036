import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { EgressState } from '../../shared/index';
import type { Logger } from '../logger';
import type { RelaySink } from '../relay/relay-hub';
import { FfmpegStderrParser } from './ffmpeg-progress';
import { RelayMkvFeed, type FeedSource } from './relay-mkv-feed';
import { RestartTracker, type BackoffPolicy } from './restart-policy';

/** Where a pipeline's feed subscribes: the room's RelayHub. */
export interface RelaySource {
  subscribe(sink: RelaySink): void;
  /** Swap the sink behind a subscription (restart from the GOP cache, no demand change). */
  replace(sink: RelaySink): void;
  unsubscribe(id: string): boolean;
}

export interface PipelineStatus {
  state: EgressState;
  error: string | null;
  restarts: number;
  retryInMs: number | null;
  speed: number | null;
  /** The running generation re-encodes video. */
  transcoding: boolean;
}

export interface FfmpegPipelineOptions {
  /** The relay sink id, unique in the room (e.g. `egress:hls`). */
  id: string;
  source: RelaySource;
  ffmpegPath: string;
  /**
   * argv for one ffmpeg run. `restart` is true for every run after the first (HLS appends to the
   * playlist with a discontinuity).
   */
  buildArgs: (source: FeedSource, restart: boolean) => { args: string[]; transcoding: boolean };
  /** Runs before each spawn (e.g. create the HLS directory). */
  prepare?: (restart: boolean) => Promise<void>;
  policy: BackoffPolicy;
  /** `restarting` (HLS: back within 2 s) or `retrying` (RTMP: the target may be down). */
  failureState: 'restarting' | 'retrying';
  /** The state while stopped after having run (HLS: `ended`). */
  stoppedState: EgressState;
  log: Logger;
  /** Removes secrets (a restream URL) from ffmpeg's messages before they are logged or shown. */
  redact?: (line: string) => string;
  onStatus: (status: PipelineStatus) => void;
  /** An ffmpeg run died unexpectedly (for metrics). */
  onCrash?: () => void;
  /** No output progress for this long while running → treat as hung and restart. */
  stallMs?: number;
  now?: () => number;
}

/** Cap on stdin bytes queued to ffmpeg; beyond it the relay's backlog policy drops frames. */
export const FFMPEG_STDIN_BOUND = 4 * 1024 * 1024;
const STOP_GRACE_MS = 5000;

type Child = ChildProcessByStdio<Writable, null, Readable>;

interface PendingBytes {
  chunks: Uint8Array[];
  bytes: number;
}

/**
 * One supervised egress output: relay chunks → Matroska (RelayMkvFeed) → ffmpeg stdin. A crash
 * restarts ffmpeg with backoff from the room's GOP cache; a source change (new codec/size/clock)
 * ends the run cleanly and starts the next at once. Never throws into its caller.
 */
export class FfmpegPipeline {
  readonly #opts: FfmpegPipelineOptions;
  readonly #now: () => number;
  readonly #tracker: RestartTracker;
  #feed: RelayMkvFeed | null = null;
  #child: Child | null = null;
  #runs = 0;
  #restarts = 0;
  #startedAt = 0;
  #state: EgressState = 'off';
  #error: string | null = null;
  #speed: number | null = null;
  #transcoding = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryAt: number | null = null;
  #stallTimer: NodeJS.Timeout | null = null;
  #lastProgressAt = 0;
  #lastFrame = -1;
  #stopping = false;
  #lastLines: string[] = [];
  /** Matroska bytes the feed made while ffmpeg was being spawned (the header comes first). */
  #pendingEarly: PendingBytes | null = null;
  /** The current feed holds the hub subscription; restarts `replace` it instead. */
  #subscribed = false;

  constructor(opts: FfmpegPipelineOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#tracker = new RestartTracker(opts.policy);
  }

  get status(): PipelineStatus {
    return {
      state: this.#state,
      error: this.#error,
      restarts: this.#restarts,
      retryInMs: this.#retryAt === null ? null : Math.max(0, this.#retryAt - this.#now()),
      speed: this.#speed,
      transcoding: this.#transcoding,
    };
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** The current ffmpeg's pid (tests kill it to prove recovery). */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  start(): void {
    if (this.#state !== 'off' && this.#state !== this.#opts.stoppedState) return;
    this.#stopping = false;
    this.#error = null;
    this.#set('starting');
    this.#attach();
  }

  /** Ends the stream cleanly (HLS: ffmpeg writes ENDLIST), killing ffmpeg if it hangs. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#clearRetry();
    this.#clearStall();
    const feed = this.#detachFeed(true);
    const child = this.#child;
    if (feed) await feed.finish();
    if (child) await this.#endChild(child);
    this.#child = null;
    this.#speed = null;
    this.#set(this.#runs > 0 ? this.#opts.stoppedState : 'off');
  }

  /** Subscribes a fresh feed; ffmpeg is spawned when it starts at a keyframe. */
  #attach(): void {
    const feed: RelayMkvFeed = new RelayMkvFeed({
      id: this.#opts.id,
      onData: (bytes) => this.#write(feed, bytes),
      consumerBacklog: () => (this.#feed === feed ? (this.#child?.stdin.writableLength ?? 0) : 0),
      onStart: (source) => this.#spawn(feed, source),
      onBreak: (reason) => this.#onBreak(feed, reason),
    });
    this.#feed = feed;
    // While running, the subscription is kept across ffmpeg restarts, so relay demand (the
    // broadcaster's encoder) never flaps; `replace` restarts it from the GOP cache.
    if (this.#subscribed) this.#opts.source.replace(feed);
    else this.#opts.source.subscribe(feed);
    this.#subscribed = true;
  }

  /** The current feed stops receiving; the subscription stays unless `unsubscribe`. */
  #detachFeed(unsubscribe = false): RelayMkvFeed | null {
    const feed = this.#feed;
    if (unsubscribe && this.#subscribed) {
      this.#opts.source.unsubscribe(this.#opts.id);
      this.#subscribed = false;
    }
    this.#feed = null;
    return feed;
  }

  #spawn(feed: RelayMkvFeed, source: FeedSource): void {
    if (this.#feed !== feed || this.#stopping) return;
    const restart = this.#runs > 0;
    const { args, transcoding } = this.#opts.buildArgs(source, restart);
    this.#transcoding = transcoding;
    const prepare = this.#opts.prepare?.(restart) ?? Promise.resolve();
    const early: PendingBytes = { chunks: [], bytes: 0 };
    this.#pendingEarly = early;
    void prepare
      .then(() => {
        if (this.#feed !== feed || this.#stopping) return;
        let child: Child;
        try {
          child = spawn(this.#opts.ffmpegPath, args, {
            stdio: ['pipe', 'ignore', 'pipe'],
            windowsHide: true,
          });
        } catch (err) {
          this.#failed(`cannot start ffmpeg: ${(err as Error).message}`);
          return;
        }
        this.#runs += 1;
        this.#child = child;
        this.#startedAt = this.#now();
        this.#lastProgressAt = this.#now();
        this.#lastFrame = -1;
        this.#lastLines = [];
        this.#pendingEarly = null;
        child.stdin.on('error', () => undefined); // EPIPE when ffmpeg dies; 'exit' handles it
        const parser = new FfmpegStderrParser(
          (p) => {
            this.#speed = p.speed;
            if (p.frame !== null && p.frame > this.#lastFrame) {
              this.#lastFrame = p.frame;
              this.#lastProgressAt = this.#now();
              if (p.frame > 0 && this.#state !== 'live') {
                this.#tracker.reset();
                this.#error = null;
                this.#set('live');
                return;
              }
            }
            this.#emit();
          },
          (line) => {
            const clean = this.#redact(line);
            this.#lastLines.push(clean);
            if (this.#lastLines.length > 5) this.#lastLines.shift();
            this.#opts.log.debug({ ffmpeg: clean }, 'ffmpeg says');
          },
        );
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (text: string) => parser.push(text));
        child.on('error', (err) => {
          this.#opts.log.warn({ err: this.#redact(err.message) }, 'ffmpeg process error');
        });
        child.on('exit', (code, signal) => this.#onExit(child, code, signal));
        for (const bytes of early.chunks) child.stdin.write(bytes);
        this.#armStall();
        this.#opts.log.info({ run: this.#runs, transcoding, restart }, 'ffmpeg started');
      })
      .catch((err: unknown) => this.#failed(`cannot prepare output: ${(err as Error).message}`));
  }

  #write(feed: RelayMkvFeed, bytes: Uint8Array): void {
    if (this.#feed !== feed) return;
    const child = this.#child;
    if (child) {
      if (child.stdin.writable && child.stdin.writableLength < FFMPEG_STDIN_BOUND) {
        child.stdin.write(bytes);
      } else if (child.stdin.writableLength >= FFMPEG_STDIN_BOUND) {
        // A Matroska stream can't skip bytes: ffmpeg is hopelessly behind, restart it.
        this.#restartNow('ffmpeg fell behind');
      }
      return;
    }
    const early = this.#pendingEarly;
    if (early && early.bytes < FFMPEG_STDIN_BOUND) {
      early.chunks.push(bytes.slice());
      early.bytes += bytes.byteLength;
    }
  }

  #onBreak(feed: RelayMkvFeed, reason: string): void {
    if (this.#feed !== feed || this.#stopping) return;
    this.#opts.log.info({ reason }, 'egress stream changed; starting a new ffmpeg run');
    const child = this.#child;
    this.#child = null;
    this.#detachFeed();
    this.#clearStall();
    void feed.finish();
    if (child) void this.#endChild(child);
    this.#set('starting');
    this.#attach();
  }

  #restartNow(reason: string): void {
    const child = this.#child;
    this.#child = null;
    const feed = this.#detachFeed();
    feed?.cancel();
    this.#clearStall();
    if (child) child.kill('SIGKILL');
    this.#failed(reason);
  }

  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return; // an ended run (break/stop) finishing on its own
    this.#child = null;
    this.#clearStall();
    const feed = this.#detachFeed();
    feed?.cancel();
    if (this.#stopping) return;
    const last = this.#lastLines.at(-1);
    const why = signal ? `ffmpeg killed (${signal})` : `ffmpeg exited (${code ?? '?'})`;
    this.#opts.onCrash?.();
    this.#failed(last ? `${why}: ${last}` : why);
  }

  #failed(error: string): void {
    if (this.#stopping) return;
    const ranFor = this.#startedAt > 0 ? this.#now() - this.#startedAt : 0;
    const delay = this.#tracker.failed(ranFor);
    this.#restarts += 1;
    this.#error = error.slice(0, 300);
    this.#speed = null;
    this.#opts.log.warn({ error: this.#error, retryInMs: delay }, 'egress output failed');
    this.#clearRetry();
    this.#retryAt = this.#now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#retryAt = null;
      if (this.#stopping) return;
      this.#set('starting');
      this.#attach();
    }, delay);
    this.#retryTimer.unref?.();
    this.#set(this.#opts.failureState);
  }

  async #endChild(child: Child): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, STOP_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end();
    });
  }

  #armStall(): void {
    this.#clearStall();
    const stallMs = this.#opts.stallMs ?? 15_000;
    this.#stallTimer = setInterval(
      () => {
        if (this.#child && this.#now() - this.#lastProgressAt > stallMs) {
          this.#restartNow('ffmpeg stopped making progress');
        }
      },
      Math.min(stallMs, 5000),
    );
    this.#stallTimer.unref?.();
  }

  #clearStall(): void {
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    this.#stallTimer = null;
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#retryAt = null;
  }

  #redact(line: string): string {
    return this.#opts.redact ? this.#opts.redact(line) : line;
  }

  #set(state: EgressState): void {
    this.#state = state;
    this.#emit();
  }

  #emit(): void {
    this.#opts.onStatus(this.status);
  }
}
