import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { EgressState } from '../../shared/index';
import type { Logger } from '../logger';
import type { RelaySource } from './ffmpeg-pipeline';
import { RelayMkvFeed } from './relay-mkv-feed';
import { within } from './egress-paths';

export interface RecordingFile {
  name: string;
  startedAt: number;
  endedAt: number | null;
}

export interface RecordingWriterOptions {
  roomId: string;
  dir: string;
  source: RelaySource;
  log: Logger;
  /** With ffmpeg, a finished file is remuxed (no re-encode) so it has a duration and cues. */
  ffmpegPath: string | null;
  onStatus: (state: EgressState, error: string | null) => void;
  now?: () => number;
}

/** Unwritten bytes before the recording's frames are dropped by the relay backlog policy. */
const FILE_BACKLOG_BOUND = 8 * 1024 * 1024;

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Records a broadcast straight from the relay's Matroska mux: no ffmpeg and no re-encode. A
 * source change (new codec or size) starts a new numbered part, since one Matroska file can't
 * change its track config.
 */
export class RecordingWriter {
  readonly #opts: RecordingWriterOptions;
  readonly #now: () => number;
  readonly #files: RecordingFile[] = [];
  #feed: RelayMkvFeed | null = null;
  #stream: WriteStream | null = null;
  #current: RecordingFile | null = null;
  #part = 0;
  #baseStamp = '';
  #stopped = false;

  constructor(opts: RecordingWriterOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get files(): readonly RecordingFile[] {
    return this.#files;
  }

  async start(): Promise<void> {
    await mkdir(this.#opts.dir, { recursive: true });
    this.#baseStamp = stamp(this.#now());
    this.#opts.onStatus('starting', null);
    this.#attach();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#closeCurrent();
    this.#opts.onStatus('ended', null);
  }

  #attach(): void {
    const feed: RelayMkvFeed = new RelayMkvFeed({
      id: 'egress:record',
      onData: (bytes) => {
        if (this.#feed === feed) this.#stream?.write(bytes);
      },
      consumerBacklog: () => (this.#feed === feed ? (this.#stream?.writableLength ?? 0) : 0),
      onStart: () => this.#open(),
      onBreak: (reason) => {
        if (this.#feed !== feed || this.#stopped) return;
        this.#opts.log.info({ reason }, 'recording: new part');
        void this.#closeCurrent(false).then(() => {
          if (!this.#stopped) this.#attach();
        });
      },
    });
    this.#feed = feed;
    // A new part keeps the subscription (no relay demand flap) and restarts from the GOP cache.
    if (this.#subscribed) this.#opts.source.replace(feed);
    else this.#opts.source.subscribe(feed);
    this.#subscribed = true;
  }

  #subscribed = false;

  #open(): void {
    this.#part += 1;
    const name = `${this.#opts.roomId}-${this.#baseStamp}${this.#part > 1 ? `-${this.#part}` : ''}.mkv`;
    const path = within(this.#opts.dir, name);
    if (!path) return;
    const stream = createWriteStream(path, { flags: 'w', highWaterMark: FILE_BACKLOG_BOUND });
    stream.on('error', (err) => {
      this.#opts.log.warn({ err: err.message }, 'recording write failed');
      this.#opts.onStatus('retrying', 'cannot write the recording file');
    });
    this.#stream = stream;
    this.#current = { name, startedAt: this.#now(), endedAt: null };
    this.#files.push(this.#current);
    this.#opts.onStatus('live', null);
    this.#opts.log.info({ file: name }, 'recording started');
  }

  async #closeCurrent(unsubscribe = true): Promise<void> {
    const feed = this.#feed;
    this.#feed = null;
    if (unsubscribe && this.#subscribed) {
      this.#opts.source.unsubscribe('egress:record');
      this.#subscribed = false;
    }
    if (feed) await feed.finish();
    const stream = this.#stream;
    const current = this.#current;
    this.#stream = null;
    this.#current = null;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
    if (current) {
      await this.#remux(current.name);
      // Only now is the file final (the remux replaced it).
      current.endedAt = this.#now();
    }
  }

  /** Append-only Matroska has no duration or cues; a stream copy adds them. */
  async #remux(name: string): Promise<void> {
    const ffmpeg = this.#opts.ffmpegPath;
    const path = within(this.#opts.dir, name);
    if (!ffmpeg || !path) return;
    const tmp = `${path}.remux.mkv`;
    const done = await new Promise<boolean>((resolve) => {
      const child = spawn(
        ffmpeg,
        [
          '-hide_banner',
          '-nostdin',
          '-loglevel',
          'error',
          '-protocol_whitelist',
          'file',
          '-i',
          path,
          '-map',
          '0',
          '-c',
          'copy',
          '-y',
          tmp,
        ],
        { stdio: 'ignore' },
      );
      child.on('error', () => resolve(false));
      child.on('exit', (code) => resolve(code === 0));
    });
    if (done) await rename(tmp, path);
    else await rm(tmp, { force: true });
    this.#opts.log.info({ file: name, remuxed: done }, 'recording finished');
  }
}
